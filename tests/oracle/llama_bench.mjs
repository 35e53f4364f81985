// llama.cpp's own speed on a GGUF (node-llama-cpp's prebuilt CPU binaries), measured the way
// `moebench generate` reports it: prefill tok/s over a prompt of --prompt-tokens ids, then
// decode tok/s over --gen greedy steps. Prints one JSON object on stdout.
// Usage: node llama_bench.mjs --model FILE [--prompt-tokens 128] [--gen 32] [--threads 2]
//        [--context 512] [--repeat 2]   (the best of --repeat runs is reported)
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

function parseArgs(argv) {
  const args = { promptTokens: 128, gen: 32, threads: 2, context: 512, repeat: 2 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`missing value after ${a}`);
      return argv[++i];
    };
    if (a === "--model") args.model = next();
    else if (a === "--prompt-tokens") args.promptTokens = Number(next());
    else if (a === "--gen") args.gen = Number(next());
    else if (a === "--threads") args.threads = Number(next());
    else if (a === "--context") args.context = Number(next());
    else if (a === "--repeat") args.repeat = Number(next());
    else throw new Error(`unknown argument ${a}`);
  }
  if (!args.model) throw new Error("--model is required");
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const llama = await getLlama({ gpu: false, build: "never", usePrebuiltBinaries: true, logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: args.model, gpuLayers: 0 });
  const context = await model.createContext({
    contextSize: args.context,
    batchSize: Math.max(args.promptTokens, 32),
    threads: args.threads,
  });
  const sequence = context.getSequence();
  const nVocab = model.fileInfo?.metadata?.tokenizer?.ggml?.tokens?.length ?? 256;
  // The same deterministic prompt ids scripts/engine-bench gives moebench.
  const prompt = Array.from({ length: args.promptTokens }, (_, i) => (i * 7919 + 13) % nVocab);
  let best = { prefill: 0, decode: 0 };
  for (let r = 0; r < args.repeat; r++) {
    await sequence.clearHistory();
    const t0 = process.hrtime.bigint();
    await sequence.evaluateWithoutGeneratingNewTokens(prompt.slice(0, -1));
    const t1 = process.hrtime.bigint();
    let n = 0;
    const t2 = process.hrtime.bigint();
    for await (const token of sequence.evaluate([prompt[prompt.length - 1]], { temperature: 0, yieldEogToken: true })) {
      void token;
      if (++n >= args.gen + 1) break;
    }
    const t3 = process.hrtime.bigint();
    const prefill = (args.promptTokens - 1) / (Number(t1 - t0) / 1e9);
    const decode = args.gen / (Number(t3 - t2) / 1e9);  // gen + 1 evaluations, the first one is the last prompt token
    best = { prefill: Math.max(best.prefill, prefill), decode: Math.max(best.decode, decode) };
  }
  process.stdout.write(JSON.stringify({ model: args.model, threads: args.threads, prompt_tokens: args.promptTokens,
    generated_tokens: args.gen, prefill_tokens_per_s: best.prefill, decode_tokens_per_s: best.decode }) + "\n");
  await context.dispose();
  await model.dispose();
  await llama.dispose();
}

main().catch((e) => {
  process.stderr.write(`llama_bench: ${e?.stack ?? e}\n`);
  process.exit(1);
});
