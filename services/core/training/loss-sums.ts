/**
 * Sums over a set of examples that ranks can add together: the form in which training and
 * evaluation figures travel from replicas to the coordinator (means are taken once, at the end).
 */
export interface LossSums {
  examples: number;
  /** Σ over examples of the loss (batch mean × batch size), likewise for its parts. */
  lossSum: number;
  baseSum: number;
  bonusSum: number;
  correct: number;
}

/** Evaluation sums, with examples and correct predictions per bin of the predicted class's probability. */
export interface EvalSums extends LossSums {
  binExamples: number[];
  binCorrect: number[];
}

/** Fresh evaluation sums for `bins` confidence bins. */
export function emptyEvalSums(bins: number): EvalSums {
  return { examples: 0, lossSum: 0, baseSum: 0, bonusSum: 0, correct: 0, binExamples: new Array<number>(bins).fill(0), binCorrect: new Array<number>(bins).fill(0) };
}
