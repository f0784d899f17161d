/**
 * A label whose values come from configuration (callers, tools, targets). A value outside the
 * known set is reported as `other`, so a metric's series stay bounded whatever arrives: no id, no
 * free text, ever becomes a label value.
 */
export class BoundedLabel {
  readonly #known: Set<string>;
  readonly #learned = new Set<string>();
  readonly #learnLimit: number;

  /** `learnLimit`: how many unlisted values are kept as themselves before the rest become `other`. */
  constructor(known: Iterable<string>, learnLimit = 0) {
    this.#known = new Set(known);
    this.#learnLimit = learnLimit;
  }

  value(raw: string | undefined): string {
    if (raw === undefined || raw === '') return 'unknown';
    if (this.#known.has(raw) || this.#learned.has(raw)) return raw;
    if (this.#learned.size < this.#learnLimit) {
      this.#learned.add(raw);
      return raw;
    }
    return 'other';
  }
}
