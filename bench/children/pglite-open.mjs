// M1's cold-open baseline, as a plain Node program (no tsx, no hearth): open the
// same PGlite folder with pgvector and answer the same query with one SQL statement
// (ef_search set as hearth sets it). Timed from before PGlite is imported to the
// answer, with the process's peak RSS. Input and answer over IPC, as child-io.ts.
process.once('disconnect', () => process.exit(2));
process.on('message', async (message) => {
  if (message.type !== 'input') return;
  const { dataDir, table, vector } = message.input;
  try {
    const started = performance.now();
    const [{ PGlite }, { vector: pgvector }] = await Promise.all([import('@electric-sql/pglite'), import('@electric-sql/pglite-pgvector')]);
    const imported = performance.now();
    const db = await PGlite.create({ dataDir, extensions: { vector: pgvector } });
    const opened = performance.now();
    const rows = await db.transaction(async (tx) => {
      await tx.exec('SET LOCAL hnsw.ef_search = 100');
      return (await tx.query(`SELECT doc_id FROM ${table} ORDER BY embedding <=> $1::vector LIMIT 10`, [JSON.stringify(vector)])).rows;
    });
    const answered = performance.now();
    const result = {
      ms: answered - started,
      importMs: imported - started,
      openMs: opened - imported,
      queryMs: answered - opened,
      sinceProcessStartMs: answered,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
      hits: rows.length,
    };
    await db.close();
    process.send({ type: 'result', result }, () => process.exit(0));
  } catch (error) {
    process.send({ type: 'error', message: error?.stack ?? String(error) }, () => process.exit(1));
  }
});
