// What the llama.cpp oracle scripts share: llama.cpp itself, flag parsing, prompt tokenization
// and failure reporting.
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

// node-llama-cpp's prebuilt CPU binaries, never a local build: those binaries are the oracle,
// and the CPU build keeps it usable on machines without GPUs.
export function cpuLlama() {
  return getLlama({ gpu: false, build: "never", usePrebuiltBinaries: true, logLevel: LlamaLogLevel.error });
}

// Reads "--flag value" pairs; `take` maps each known flag to a function of its value.
export function parseFlags(argv, take) {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!Object.hasOwn(take, a)) throw new Error(`unknown argument ${a}`);
    if (i + 1 >= argv.length) throw new Error(`missing value after ${a}`);
    take[a](argv[++i]);
  }
}

// "1,2,3" -> [1, 2, 3]
export function parseIds(text) {
  return text.split(",").filter((s) => s !== "").map(Number);
}

// A prompt's token ids as llama.cpp's own tools make them: BOS first when the model asks for it.
export function promptTokens(model, text) {
  const ids = model.tokenize(text, false);
  return model.tokens.shouldPrependBosToken && model.tokens.bos !== null ? [model.tokens.bos, ...ids] : ids;
}

// Runs the async `main`, reporting a failure on stderr with exit status 1.
export function runMain(name, main) {
  main().catch((e) => {
    process.stderr.write(`${name}: ${e?.stack ?? e}\n`);
    process.exit(1);
  });
}
