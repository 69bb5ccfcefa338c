// Decodes the PNG screenshots Chromium takes (8-bit greyscale, RGB or RGBA, not interlaced) into pixels to count.
import { inflateSync } from 'node:zlib';

export interface Pixels {
  readonly width: number;
  readonly height: number;
  /** RGBA, 4 bytes per pixel, row after row. */
  readonly rgba: Uint8Array;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const CHANNELS: Readonly<Record<number, number>> = { 0: 1, 2: 3, 4: 2, 6: 4 };

function paeth(left: number, up: number, upLeft: number): number {
  const estimate = left + up - upLeft;
  const toLeft = Math.abs(estimate - left);
  const toUp = Math.abs(estimate - up);
  const toUpLeft = Math.abs(estimate - upLeft);
  if (toLeft <= toUp && toLeft <= toUpLeft) return left;
  return toUp <= toUpLeft ? up : upLeft;
}

export function decodePng(png: Buffer): Pixels {
  if (!png.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG');
  let width = 0;
  let height = 0;
  let channels = 0;
  const data: Buffer[] = [];
  for (let offset = 8; offset < png.length; ) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const body = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const [bitDepth, colourType, , , interlace] = [body[8], body[9], body[10], body[11], body[12]];
      channels = CHANNELS[colourType ?? -1] ?? 0;
      if (bitDepth !== 8 || channels === 0 || interlace !== 0)
        throw new Error(
          `unsupported PNG: depth ${bitDepth}, colour type ${colourType}, interlace ${interlace}`,
        );
    } else if (type === 'IDAT') data.push(body);
    else if (type === 'IEND') break;
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(data));
  const stride = width * channels;
  const pixels = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)] ?? 0;
    for (let x = 0; x < stride; x++) {
      const value = raw[y * (stride + 1) + 1 + x] ?? 0;
      const left = x >= channels ? (pixels[y * stride + x - channels] ?? 0) : 0;
      const up = y > 0 ? (pixels[(y - 1) * stride + x] ?? 0) : 0;
      const upLeft = x >= channels && y > 0 ? (pixels[(y - 1) * stride + x - channels] ?? 0) : 0;
      const predicted = [0, left, up, (left + up) >> 1, paeth(left, up, upLeft)][filter] ?? 0;
      pixels[y * stride + x] = (value + predicted) & 0xff;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const at = i * channels;
    const grey = channels <= 2;
    rgba[i * 4] = pixels[at] ?? 0;
    rgba[i * 4 + 1] = (grey ? pixels[at] : pixels[at + 1]) ?? 0;
    rgba[i * 4 + 2] = (grey ? pixels[at] : pixels[at + 2]) ?? 0;
    rgba[i * 4 + 3] =
      channels === 4 ? (pixels[at + 3] ?? 255) : channels === 2 ? (pixels[at + 1] ?? 255) : 255;
  }
  return { width, height, rgba };
}

const rgbOf = (hex: string) => [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));

function isNear(pixels: Pixels, offset: number, target: readonly number[], tolerance: number): boolean {
  return target.every((value, c) => Math.abs((pixels.rgba[offset + c] ?? 0) - value) <= tolerance);
}

/**
 * Rows of the image holding a pixel within `tolerance` (per channel) of any of the `#rrggbb` colours: how tall the
 * drawn series are. A series at zero is a flat line or nothing; data makes lines climb and bars grow.
 */
export function rowsWithColours(pixels: Pixels, colours: readonly string[], tolerance = 24): number {
  const targets = colours.map(rgbOf);
  let rows = 0;
  for (let y = 0; y < pixels.height; y++) {
    for (let x = 0; x < pixels.width; x++) {
      const offset = (y * pixels.width + x) * 4;
      if (targets.some((target) => isNear(pixels, offset, target, tolerance))) {
        rows++;
        break;
      }
    }
  }
  return rows;
}

/** Pixels that differ from the most common colour (the background). */
export function nonBackgroundPixels(pixels: Pixels): number {
  const counts = new Map<number, number>();
  for (let i = 0; i < pixels.rgba.length; i += 4) {
    const key = ((pixels.rgba[i] ?? 0) << 16) | ((pixels.rgba[i + 1] ?? 0) << 8) | (pixels.rgba[i + 2] ?? 0);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const background = Math.max(...counts.values());
  return pixels.width * pixels.height - background;
}
