/**
 * Module boundaries of the service, checked by `npm run lint:boundaries` (in `npm run lint`).
 * The folders and what each may import are described in docs/architecture.md ("Module map").
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import cycle means two modules are one concept split in two, or one owns the other.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'math-is-a-leaf',
      comment: 'api/src/math (numerics, NOMAD RNG) is neutral: it imports nothing of the service.',
      severity: 'error',
      from: { path: '^api/src/math/' },
      to: { path: '^api/src/', pathNot: '^api/src/math/' },
    },
    {
      name: 'optimizer-contract-is-neutral',
      comment:
        'The contract between the service and every algorithm (problem, suggestions, errors) knows no algorithm.',
      severity: 'error',
      from: { path: '^api/src/optimizer-contract/' },
      to: { path: '^api/src/', pathNot: '^api/src/(optimizer-contract|math)/' },
    },
    {
      name: 'mads-is-self-contained',
      comment: 'The MADS engine is a library: it imports only itself, the math folder and the optimizer contract.',
      severity: 'error',
      from: { path: '^api/src/mads/' },
      to: { path: '^api/src/', pathNot: '^api/src/(mads|math|optimizer-contract)/' },
    },
    {
      name: 'early-stopping-is-self-contained',
      comment: 'The stopping rule is pure: no service, no database; only the neutral math folder (pure functions).',
      severity: 'error',
      from: { path: '^api/src/early-stopping/' },
      to: { path: '^api/src/', pathNot: '^api/src/(early-stopping|math)/' },
    },
    {
      name: 'projects-own-scope-only',
      comment:
        'api/src/projects decides what a caller may see for every feature (ProjectScope); it reads their rows by SQL (the trial tables through the trial store, their owner) and imports no feature service, so studies, trials and runners can all depend on it.',
      severity: 'error',
      from: { path: '^api/src/projects/' },
      to: { path: '^api/src/(studies|trials|runners)/', pathNot: '^api/src/trials/store/' },
    },
    {
      name: 'controllers-never-touch-sql',
      comment: 'Controllers speak HTTP; services own the queries (and the trial store the trial tables).',
      severity: 'error',
      from: { path: '\\.controller\\.ts$' },
      to: { path: ['(^|/)node_modules/(typeorm|pg)/', '^api/src/database/', '^api/src/trials/store/'] },
    },
    {
      name: 'only-the-trial-store-touches-trials',
      comment:
        'Every statement on trials, trial_leases and trial_metrics is in api/src/trials/store/ (one function per ' +
        'transition of the state machine): nobody else may use the trial entities as values (a repository, a ' +
        'query builder); types are fine. Raw SQL on those tables elsewhere is caught by ' +
        'test/boundaries/module-boundaries.spec.ts.',
      severity: 'error',
      from: {
        path: '^api/src/',
        pathNot: [
          '^api/src/trials/store/',
          '^api/src/database/entities\\.ts$',
          '^api/src/trials/trial(-lease|-metric)?\\.entity\\.ts$',
        ],
      },
      to: { path: '^api/src/trials/trial(-lease|-metric)?\\.entity\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'the-engine-through-its-commands',
      comment:
        'A study engine changes only through EngineService (api/src/engine/engine.service.ts): its store, ' +
        'sessions and the locked study row stay inside api/src/engine/.',
      severity: 'error',
      from: { path: '^api/src/', pathNot: '^api/src/engine/' },
      to: { path: '^api/src/engine/(engine-store|engine-session|locked-study)\\.ts$' },
    },
    {
      name: 'product-code-never-imports-tests',
      severity: 'error',
      from: { path: '^api/src/', pathNot: '\\.spec\\.ts$' },
      to: { path: '(^test/|\\.spec\\.ts$)' },
    },
  ],
  options: {
    tsConfig: { fileName: 'tsconfig.json' },
    // Type-only imports count: a type is as much a dependency as a value.
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^api/src/dashboard/web/' },
  },
};
