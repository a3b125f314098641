import fs from 'node:fs';
import path from 'node:path';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * The Grafana dashboard that docs/ ships (docs/grafana/agentmem.json) asks only for metrics the
 * server exports, read from a running server's /metrics as Prometheus scrapes it, and shows every
 * metric of AgentMem's own.
 */

const TOKEN = 'test-metrics-token-grafana-0123';

interface Panel {
  type: string;
  title: string;
  targets?: Array<{ expr?: string }>;
  panels?: Panel[];
}

interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query?: string | { query: string } }> };
}

const dashboardFile = path.resolve(__dirname, '..', '..', 'docs', 'grafana', 'agentmem.json');
const dashboard = JSON.parse(fs.readFileSync(dashboardFile, 'utf8')) as Dashboard;

/** Words of PromQL that are not metric names: keywords and aggregation modifiers. */
const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'inf',
  'nan',
  'atan2',
]);

/**
 * The metric names a PromQL expression reads: its identifiers, once strings, label matchers,
 * ranges, grouping label lists, function calls and keywords are set aside.
 */
function metricNames(expression: string): string[] {
  const bare = expression
    .replace(/"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = [...bare.matchAll(/(?<![\w:$.])[a-zA-Z_:][\w:]*(?![\w:]|\s*\()/g)]
    .map((match) => match[0])
    .filter((word) => !KEYWORDS.has(word.toLowerCase()));
  return [...new Set(names)];
}

/** Every query of the dashboard: its panels' expressions (rows' nested panels too) and its variables'. */
function queries(): Array<{ where: string; expression: string }> {
  const fromPanels = (panels: Panel[]): Array<{ where: string; expression: string }> =>
    panels.flatMap((panel) => [
      ...(panel.targets ?? []).map((target) => ({ where: `panel "${panel.title}"`, expression: target.expr ?? '' })),
      ...fromPanels(panel.panels ?? []),
    ]);
  const fromVariables = dashboard.templating.list.flatMap((variable) => {
    if (variable.type !== 'query' || variable.query === undefined) return [];
    const query = typeof variable.query === 'string' ? variable.query : variable.query.query;
    // Grafana's label_values(metric, label): the metric is PromQL, the label is not.
    const labelValues = /^label_values\((.*),\s*\w+\)$/.exec(query);
    return [{ where: `variable $${variable.name}`, expression: labelValues ? labelValues[1]! : query }];
  });
  return [...fromPanels(dashboard.panels), ...fromVariables];
}

/**
 * The series names a scrape can hold, from its `# TYPE` lines: a histogram's `_bucket`, `_sum`
 * and `_count`, a summary's `_sum` and `_count`, any other metric by its own name.
 */
function exportedSeries(exposition: string): { series: Set<string>; metrics: Set<string> } {
  const series = new Set<string>();
  const metrics = new Set<string>();
  for (const match of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const name = match[1]!;
    const type = match[2]!;
    metrics.add(name);
    const suffixes =
      type === 'histogram' ? ['_bucket', '_sum', '_count'] : type === 'summary' ? ['', '_sum', '_count'] : [''];
    for (const suffix of suffixes) series.add(name + suffix);
  }
  return { series, metrics };
}

describe('the Grafana dashboard docs/grafana/agentmem.json', () => {
  let app: TestApp;
  let exposition: string;
  beforeAll(async () => {
    app = await startTestApp('grafana', { metricsToken: TOKEN });
    await app.seedDemo();
    // One request, so that every series a request feeds has been made at least once.
    expect((await app.graphqlUntyped('query DashboardCheck { agents { nodes { id } } }')).errors).toBeUndefined();
    const response = await fetch(new URL('/metrics', app.url), { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(200);
    exposition = await response.text();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('is a dashboard with panels, each with queries', () => {
    expect(dashboard).toMatchObject({ uid: 'agentmem', title: 'AgentMem' });
    const graphs = dashboard.panels.filter((panel) => panel.type !== 'row');
    expect(graphs.length).toBeGreaterThan(8);
    expect(graphs.filter((panel) => (panel.targets ?? []).length === 0).map((panel) => panel.title)).toEqual([]);
  });

  it('asks only for metrics the server exports at /metrics', () => {
    const { series } = exportedSeries(exposition);
    // The pool's gauge is PostgreSQL's: the embedded database has no pool (docs/operations.md).
    const postgresOnly = new Set(['agentmem_database_connections']);
    const onPglite = app.database.kind === 'pglite';
    expect(series.has('agentmem_database_connections')).toBe(!onPglite);
    const unknown = queries().flatMap(({ where, expression }) => {
      const names = metricNames(expression);
      if (names.length === 0) return [`${where}: ${expression} names no metric`];
      return names
        .filter((name) => !series.has(name) && !(onPglite && postgresOnly.has(name)))
        .map((name) => `${where}: ${name}`);
    });
    expect(unknown).toEqual([]);
  });

  it("shows every metric of AgentMem's own", () => {
    const { metrics } = exportedSeries(exposition);
    const asked = queries().flatMap(({ expression }) => metricNames(expression));
    const own = [...metrics].filter((name) => name.startsWith('agentmem_'));
    expect(own.length).toBeGreaterThan(8);
    expect(own.filter((name) => !asked.some((series) => series === name || series.startsWith(`${name}_`)))).toEqual([]);
  });

  it('reads metric names out of PromQL', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (le, operation) (rate(agentmem_x_bucket{instance=~"$instance", ' +
          'code!="a b"}[$__rate_interval])))',
      ),
    ).toEqual(['agentmem_x_bucket']);
    expect(
      metricNames('sum(rate(a_sum[5m])) / sum(rate(a_count[5m])) > bool 0 unless on (job) b_total offset 5m'),
    ).toEqual(['a_sum', 'a_count', 'b_total']);
    expect(metricNames('process_resident_memory_bytes')).toEqual(['process_resident_memory_bytes']);
    expect(metricNames('vector(1)')).toEqual([]);
  });
});
