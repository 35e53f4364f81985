#include "moebench/serve/chat_template.h"

namespace moebench::serve {
namespace {

// DeepSeek's markers use U+FF5C (fullwidth vertical line) and U+2581 (lower one eighth block).
const std::string ds_user = "<\xef\xbd\x9cUser\xef\xbd\x9c>";
const std::string ds_assistant = "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>";
const std::string ds_eos = "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>";

}  // namespace

std::string_view to_string(chat_format f) noexcept {
  switch (f) {
    case chat_format::plain: return "plain";
    case chat_format::chatml: return "chatml";
    case chat_format::deepseek3: return "deepseek3";
    case chat_format::llama2: return "llama2";
    case chat_format::llama2_sys: return "llama2-sys";
  }
  return "?";
}

chat_format detect_chat_format(std::string_view jinja) {
  const auto has = [&](std::string_view s) { return jinja.find(s) != std::string_view::npos; };
  // ChatML, but not its look-alikes (Phi-4's <|im_sep|>, SmolVLM's <end_of_utterance>).
  if (has("<|im_start|>")) return has("<|im_sep|>") || has("<end_of_utterance>") ? chat_format::plain : chat_format::chatml;
  if (has(ds_assistant) && has(ds_user) && has(ds_eos)) return chat_format::deepseek3;
  if (has("[INST]")) {
    // Later Mistral formats (v3 tool blocks, v7 system prompts, v1's leading space), BOS
    // inside the history and stripped contents render differently: not handled here.
    if (has("[SYSTEM_PROMPT]") || has("[AVAILABLE_TOOLS]") || has("' [INST] ' + system_message") ||
        has("bos_token + '[INST]") || has("content.strip()"))
      return chat_format::plain;
    return has("<<SYS>>") ? chat_format::llama2_sys : chat_format::llama2;
  }
  return chat_format::plain;
}

std::string render_chat(chat_format f, const std::vector<chat_message>& messages) {
  std::string out;
  switch (f) {
    case chat_format::plain:
      for (const auto& m : messages) out += m.role + ": " + m.content + "\n";
      return out + "assistant: ";
    case chat_format::chatml:
      for (const auto& m : messages) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
      return out + "<|im_start|>assistant\n";
    case chat_format::deepseek3:
      for (const auto& m : messages) {
        if (m.role == "system") out += m.content + "\n\n";
        else if (m.role == "user") out += ds_user + m.content;
        else out += ds_assistant + m.content + ds_eos;
      }
      return out + ds_assistant;
    case chat_format::llama2:
    case chat_format::llama2_sys: {
      out = "[INST] ";
      bool in_turn = true;
      for (const auto& m : messages) {
        if (!in_turn) {
          out += "[INST] ";
          in_turn = true;
        }
        if (m.role == "system") {
          out += f == chat_format::llama2_sys ? "<<SYS>>\n" + m.content + "\n<</SYS>>\n\n" : m.content + "\n";
        } else if (m.role == "user") {
          out += m.content + " [/INST]";
        } else {
          out += m.content + "</s>";
          in_turn = false;
        }
      }
      return out;
    }
  }
  return out;
}

}  // namespace moebench::serve
