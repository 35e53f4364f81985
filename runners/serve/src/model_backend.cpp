#include "moebench/serve/model_backend.h"

#include "moebench/serve/chat_template.h"

namespace moebench::serve {

std::string model_backend::render_chat(const std::vector<chat_message>& messages) const {
  return serve::render_chat(chat_format::plain, messages);
}

}  // namespace moebench::serve
