#pragma once
// Chat prompt rendering for GGUF models without a Jinja engine: a few well-known template
// families are recognised by distinctive substrings of `tokenizer.chat_template` and rendered
// by hand, as llama.cpp's built-in templates do (docs/openai-runner.md lists them exactly).
// Anything else falls back to model_backend's documented default.
#include <string>
#include <string_view>
#include <vector>

#include "moebench/serve/model_backend.h"

namespace moebench::serve {

enum class chat_format {
  plain,       // not recognised: model_backend::render_chat's default
  chatml,      // Qwen and others: <|im_start|>role\ncontent<|im_end|>\n ... <|im_start|>assistant\n
  deepseek3,   // DeepSeek-V3/R1: system text, <｜User｜>..., <｜Assistant｜>...<｜end▁of▁sentence｜>
  llama2,      // Llama-2 / Mistral-Instruct v0.1-style [INST] ... [/INST] (system as a plain line)
  llama2_sys,  // the same with <<SYS>> blocks
};
std::string_view to_string(chat_format f) noexcept;

// The family of a Jinja chat template (the text of tokenizer.chat_template); plain when the
// text is empty or matches none.
chat_format detect_chat_format(std::string_view jinja);

// The prompt for `messages` in format `f`, ending where the assistant's reply begins. No BOS:
// the tokenizer adds it as the vocabulary asks.
std::string render_chat(chat_format f, const std::vector<chat_message>& messages);

}  // namespace moebench::serve
