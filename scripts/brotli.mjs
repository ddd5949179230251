// Writes FILE.br (brotli, quality 11) beside each FILE given and prints the
// sizes. Compressing once here, at build time, is why the server needs no
// compressor of its own for its assets.
import fs from "node:fs";
import zlib from "node:zlib";

const kib = (n) => (n / 1024).toFixed(1) + " KiB";
for (const file of process.argv.slice(2)) {
  const raw = fs.readFileSync(file);
  const br = zlib.brotliCompressSync(raw, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
    },
  });
  fs.writeFileSync(file + ".br", br);
  console.log(`${file}: ${kib(raw.length)} raw, ${kib(br.length)} brotli 11`);
}
