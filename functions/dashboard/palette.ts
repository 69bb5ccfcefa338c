// Colours of the dashboard's chart series, in order; shared with the browser test that finds them in screenshots.
export const PALETTE = [
  '#1f6feb',
  '#d4a72c',
  '#2da44e',
  '#cf222e',
  '#8250df',
  '#bc4c00',
  '#0550ae',
  '#57606a',
] as const;
