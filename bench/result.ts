/** One benchmark figure, printed as `name: value unit`. */
export interface BenchResult {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
}
