// Next-token log-probabilities from llama.cpp (node-llama-cpp's prebuilt CPU binaries) for a
// prompt and a greedy continuation, with an F32 KV cache and flash attention off so that the
// comparison with moebench's engine is not blurred by F16 rounding of keys and values.
// Prints one JSON object on stdout:
//   {"model", "n_vocab", "runs": [{"prompt_ids", "positions": [{"token", "logprobs": [...]}]}]}
// one run per prompt, in order; positions[i] is the distribution after the prompt and the first
// i greedy tokens, "token" the greedy choice there, "logprobs" n_vocab values (null where the
// probability underflows to 0). The model is loaded once for all prompts.
// Usage: node llama_logprobs.mjs --model FILE (--prompt TEXT | --prompt-ids 1,2,3)... [--n 1]
//        [--context 256]
import { cpuLlama, parseFlags, parseIds, promptTokens, runMain } from "./oracle_common.mjs";

function parseArgs(argv) {
  const args = { n: 1, context: 256, prompts: [] };
  parseFlags(argv, {
    "--model": (v) => (args.model = v),
    "--prompt": (v) => args.prompts.push({ text: v }),
    "--prompt-ids": (v) => args.prompts.push({ ids: parseIds(v) }),
    "--n": (v) => (args.n = Number(v)),
    "--context": (v) => (args.context = Number(v)),
  });
  if (!args.model) throw new Error("--model is required");
  if (args.prompts.length === 0) throw new Error("--prompt or --prompt-ids is required");
  if (!(args.n >= 1)) throw new Error("--n must be >= 1");
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const llama = await cpuLlama();
  const model = await llama.loadModel({ modelPath: args.model, gpuLayers: 0 });
  const context = await model.createContext({
    contextSize: args.context,
    threads: 1,
    flashAttention: false,
    experimentalKvCacheKeyType: "F32",
    experimentalKvCacheValueType: "F32",
  });
  const sequence = context.getSequence();
  const nVocab = model.fileInfo?.metadata?.tokenizer?.ggml?.tokens?.length;
  const ask = { generateNext: { probabilities: true, token: true, options: { temperature: 0 } } };
  const runs = [];
  for (const prompt of args.prompts) {
    const promptIds = prompt.ids ?? promptTokens(model, prompt.text);
    if (promptIds.length === 0) throw new Error("empty prompt");
    await sequence.clearHistory();
    const positions = [];
    let input = [...promptIds.slice(0, -1), [promptIds[promptIds.length - 1], ask]];
    for (let step = 0; step < args.n; step++) {
      const res = await sequence.controlledEvaluate(input);
      const next = res[res.length - 1]?.next;
      if (next?.probabilities == null) throw new Error("no probabilities returned");
      const logprobs = new Array(nVocab).fill(null);
      for (const [id, p] of next.probabilities) if (p > 0) logprobs[id] = Math.log(p);
      positions.push({ token: next.token, logprobs });
      input = [[next.token, ask]];
    }
    runs.push({ prompt_ids: promptIds, positions });
  }
  process.stdout.write(JSON.stringify({ model: args.model, n_vocab: nVocab, runs }) + "\n");
  await context.dispose();
  await model.dispose();
  await llama.dispose();
}

runMain("llama_logprobs", main);
