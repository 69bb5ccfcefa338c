// Significance of A/B results: the two-sided p-value of a two-proportion z-test, with its own normal CDF.

/**
 * Complementary error function: Numerical Recipes' `erfcc` (a Chebyshev fit), fractional error below 1.2e-7
 * everywhere, which is ample for reporting p-values and needs no dependency.
 */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Standard normal cumulative distribution function Φ(x). */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

export interface Proportion {
  /** Profiles that reached the goal. */
  readonly successes: number;
  /** Profiles that entered. */
  readonly trials: number;
}

/**
 * Two-sided p-value that two proportions differ (pooled two-proportion z-test). Null when it is undefined: a group
 * without trials, or no variance (every trial in both groups succeeded, or none did).
 */
export function twoProportionPValue(a: Proportion, b: Proportion): number | null {
  if (a.trials <= 0 || b.trials <= 0) return null;
  const pooled = (a.successes + b.successes) / (a.trials + b.trials);
  const standardError = Math.sqrt(pooled * (1 - pooled) * (1 / a.trials + 1 / b.trials));
  if (standardError === 0) return null;
  const z = (a.successes / a.trials - b.successes / b.trials) / standardError;
  // 2·(1 − Φ(|z|)) = erfc(|z|/√2), computed directly so tiny p-values keep their precision.
  return Math.min(1, erfc(Math.abs(z) / Math.SQRT2));
}
