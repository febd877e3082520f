import { compareCells } from './analysis';
import { fill, h } from './dom';

export interface Column<T> {
  label: string;
  /** The value sorted on (and shown, unless `render` is given). */
  value: (row: T) => number | string | null;
  render?: (row: T) => Node | string;
  numeric?: boolean;
}

/** A table whose header cells sort it (click again to reverse); the order survives updates. */
export class SortableTable<T> {
  readonly element: HTMLTableElement;
  private readonly body = h('tbody');
  private readonly headers: HTMLTableCellElement[];
  private rows: readonly T[] = [];
  private sortIndex: number;
  private ascending: boolean;

  constructor(
    private readonly columns: Column<T>[],
    private readonly rowAttributes: (row: T) => Record<string, string>,
    initialSort: { index: number; ascending: boolean } = { index: 0, ascending: true },
  ) {
    this.sortIndex = initialSort.index;
    this.ascending = initialSort.ascending;
    this.headers = columns.map((column, index) =>
      h(
        'th',
        {
          class: column.numeric === true ? 'num sortable' : 'sortable',
          scope: 'col',
          onclick: () => this.sortBy(index),
        },
        column.label,
      ),
    );
    this.element = h('table', { class: 'data' }, h('thead', {}, h('tr', {}, ...this.headers)), this.body);
  }

  update(rows: readonly T[]): void {
    this.rows = rows;
    this.render();
  }

  private sortBy(index: number): void {
    this.ascending = index === this.sortIndex ? !this.ascending : true;
    this.sortIndex = index;
    this.render();
  }

  private render(): void {
    const column = this.columns[this.sortIndex];
    const sorted = [...this.rows].sort((a, b) => {
      const order = compareCells(column.value(a), column.value(b));
      return this.ascending ? order : -order;
    });
    this.headers.forEach((header, index) => {
      header.setAttribute(
        'aria-sort',
        index === this.sortIndex ? (this.ascending ? 'ascending' : 'descending') : 'none',
      );
    });
    fill(
      this.body,
      ...sorted.map((row) => {
        const tr = h('tr');
        for (const [name, value] of Object.entries(this.rowAttributes(row))) tr.setAttribute(name, value);
        tr.append(
          ...this.columns.map((item) =>
            h(
              'td',
              { class: item.numeric === true ? 'num' : null },
              item.render === undefined ? String(item.value(row) ?? '—') : item.render(row),
            ),
          ),
        );
        return tr;
      }),
    );
  }
}
