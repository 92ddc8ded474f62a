// The package ships no types; this is the part of its API the anomaly bench calls.
declare module 'ml-isolation-forest' {
  export class IsolationForest {
    constructor(options?: { nEstimators?: number })
    train(trainingSet: number[][]): void
    predict(data: number[][]): number[]
  }
}
