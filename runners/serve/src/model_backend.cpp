#include "moebench/serve/model_backend.h"

namespace moebench::serve {

std::string model_backend::render_chat(const std::vector<chat_message>& messages) const {
  std::string out;
  for (const auto& m : messages) out += m.role + ": " + m.content + "\n";
  return out + "assistant: ";
}

}  // namespace moebench::serve
