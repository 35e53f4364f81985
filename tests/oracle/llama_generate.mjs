// Loads a GGUF model in llama.cpp (through node-llama-cpp's prebuilt CPU binaries) and greedily
// generates tokens for a prompt. Prints one JSON object on stdout:
//   {"model", "n_vocab", "prompt_ids", "generated_ids", "text"}
// Usage: node llama_generate.mjs --model FILE [--prompt TEXT | --prompt-ids 1,2,3] [--n 16]
//        [--context 256]
// The prompt text is tokenized by llama.cpp with BOS prepended when the model asks for it.
// Generation does not stop at end-of-generation tokens: exactly --n tokens are produced, so
// runs are comparable token for token.
import { cpuLlama, parseFlags, parseIds, promptTokens, runMain } from "./oracle_common.mjs";

function parseArgs(argv) {
  const args = { n: 16, context: 256 };
  parseFlags(argv, {
    "--model": (v) => (args.model = v),
    "--prompt": (v) => (args.prompt = v),
    "--prompt-ids": (v) => (args.promptIds = parseIds(v)),
    "--n": (v) => (args.n = Number(v)),
    "--context": (v) => (args.context = Number(v)),
  });
  if (!args.model) throw new Error("--model is required");
  if (args.prompt === undefined && args.promptIds === undefined) args.prompt = "The";
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const llama = await cpuLlama();
  const model = await llama.loadModel({ modelPath: args.model, gpuLayers: 0 });
  const context = await model.createContext({ contextSize: args.context, threads: 2 });
  const sequence = context.getSequence();

  const promptIds = args.promptIds ?? promptTokens(model, args.prompt);
  const generated = [];
  if (args.n > 0) {
    for await (const token of sequence.evaluate(promptIds, { temperature: 0, yieldEogToken: true })) {
      generated.push(token);
      if (generated.length >= args.n) break;
    }
  }
  const out = {
    model: args.model,
    n_vocab: model.fileInfo?.metadata?.tokenizer?.ggml?.tokens?.length ?? null,
    prompt_ids: promptIds,
    generated_ids: generated,
    text: model.detokenize(generated),
  };
  process.stdout.write(JSON.stringify(out) + "\n");
  await context.dispose();
  await model.dispose();
  await llama.dispose();
}

runMain("llama_generate", main);
