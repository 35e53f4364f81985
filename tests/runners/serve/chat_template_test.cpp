// Chat template families: detection from real template snippets and the exact renderings.
#include <gtest/gtest.h>

#include "moebench/serve/chat_template.h"

namespace moebench::serve {
namespace {

const std::vector<chat_message> conversation{
    {"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello."}, {"user", "2+2?"}};

TEST(chat_template, detects_the_recognised_families) {
  // Qwen2.5/Qwen3 (ChatML).
  EXPECT_EQ(detect_chat_format("{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + "
                               "message.content + '<|im_end|>' + '\\n' }}{%- endfor %}"),
            chat_format::chatml);
  // DeepSeek-V3.
  EXPECT_EQ(detect_chat_format("{{'<\xef\xbd\x9cUser\xef\xbd\x9c>' + message['content']}}{{'<\xef\xbd\x9c" "Assistant"
                               "\xef\xbd\x9c>' + content + '<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence"
                               "\xef\xbd\x9c>'}}"),
            chat_format::deepseek3);
  // Mixtral-8x7B-Instruct-v0.1 and Llama-2-chat.
  EXPECT_EQ(detect_chat_format("{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
                               "{{ '[INST] ' + message['content'] + ' [/INST]' }}{% endif %}{% endfor %}"),
            chat_format::llama2);
  EXPECT_EQ(detect_chat_format("{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' %}"
                               "{{ '[INST] ' + content + ' [/INST]' }}"),
            chat_format::llama2_sys);
  // Look-alikes and other families fall back to the default.
  EXPECT_EQ(detect_chat_format("<|im_start|>{{role}}<|im_sep|>"), chat_format::plain);
  EXPECT_EQ(detect_chat_format("[SYSTEM_PROMPT]{{ s }}[/SYSTEM_PROMPT][INST]"), chat_format::plain);
  EXPECT_EQ(detect_chat_format("<|start_header_id|>{{ role }}<|end_header_id|>"), chat_format::plain);
  EXPECT_EQ(detect_chat_format(""), chat_format::plain);
}

TEST(chat_template, renders_each_family_exactly) {
  EXPECT_EQ(render_chat(chat_format::plain, conversation),
            "system: Be brief.\nuser: Hi\nassistant: Hello.\nuser: 2+2?\nassistant: ");
  EXPECT_EQ(render_chat(chat_format::chatml, conversation),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(render_chat(chat_format::deepseek3, conversation),
            "Be brief.\n\n<\xef\xbd\x9cUser\xef\xbd\x9c>Hi<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>Hello.<\xef\xbd\x9c"
            "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c><\xef\xbd\x9cUser\xef\xbd\x9c>2+2?<\xef\xbd\x9c"
            "Assistant\xef\xbd\x9c>");
  EXPECT_EQ(render_chat(chat_format::llama2_sys, conversation),
            "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST]Hello.</s>[INST] 2+2? [/INST]");
  EXPECT_EQ(render_chat(chat_format::llama2, conversation), "[INST] Be brief.\nHi [/INST]Hello.</s>[INST] 2+2? [/INST]");
}

}  // namespace
}  // namespace moebench::serve
