#include "moebench/runners/fake.h"

#include <chrono>
#include <cmath>

#include "moebench/error.h"
#include "moebench/text.h"

namespace moebench {

fake_options parse_fake_spec(const std::string& spec) {
  MOEBENCH_CHECK(spec.starts_with("fake:") || spec == "fake", "not a fake spec");
  fake_options o;
  const std::string body = spec == "fake" ? "" : spec.substr(5);
  if (trim(body).empty()) return o;
  for (const auto& part : split(body, ',')) {
    const std::string item(trim(part));
    const auto eq = item.find('=');
    const std::string key = item.substr(0, eq);
    const auto bad = [&](const std::string& why) {
      return error("cli.bad_value", {"", 0, "--model"}, "fake spec '" + item + "': " + why +
                                                            " (keys: ttft_ms, tpot_ms, slots)");
    };
    if (eq == std::string::npos) throw bad("expected key=value");
    double v = 0;
    std::size_t used = 0;
    const std::string value = item.substr(eq + 1);
    try {
      v = std::stod(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (value.empty() || used != value.size() || !std::isfinite(v) || v < 0) throw bad("expected a number >= 0");
    if (key == "ttft_ms") {
      o.ttft_ms = v;
    } else if (key == "tpot_ms") {
      o.tpot_ms = v;
    } else if (key == "slots") {
      if (v < 1 || v > 1024 || v != std::floor(v)) throw bad("slots must be a whole number in 1..1024");
      o.slots = static_cast<int64_t>(v);
    } else {
      throw bad("unknown key");
    }
  }
  return o;
}

fake_runner::fake_runner(fake_options o, std::string spec) : options_(o), spec_(std::move(spec)) {
  for (int64_t i = 0; i < options_.slots; ++i) workers_.emplace_back([this] { work(); });
}

fake_runner::~fake_runner() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  workers_.clear();  // joins; workers drain the queue first
}

runner_info fake_runner::info() const {
  runner_info i;
  i.spec = spec_;
  i.name = "fake (harness self-test, not a model)";
  i.details = {{"kind", "harness-self-test"},
               {"ttft_ms", options_.ttft_ms},
               {"tpot_ms", options_.tpot_ms},
               {"slots", options_.slots}};
  return i;
}

void fake_runner::submit(std::span<const request> batch, completion_sink& sink) {
  {
    std::lock_guard lock(mu_);
    for (const auto& r : batch) {
      // The word synthesiser writes one word per token.
      int64_t words = 0;
      for (const auto& w : split(r.prompt, ' '))
        if (!w.empty()) ++words;
      queue_.push_back({r.id, words, std::max<int64_t>(r.params.max_tokens, 0), &sink});
    }
  }
  cv_.notify_all();
}

void fake_runner::flush() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return queue_.empty() && active_ == 0; });
}

void fake_runner::work() {
  using ms = std::chrono::duration<double, std::milli>;
  for (;;) {
    job j;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      j = queue_.front();
      queue_.pop_front();
      active_ += 1;
    }
    std::this_thread::sleep_for(ms(options_.ttft_ms));
    for (int64_t t = 0; t < j.max_tokens; ++t) {
      if (t > 0) std::this_thread::sleep_for(ms(options_.tpot_ms));
      j.sink->on_chunk(j.id, " tok", 1);
    }
    completion c;
    c.text.reserve(static_cast<std::size_t>(j.max_tokens) * 4);
    for (int64_t t = 0; t < j.max_tokens; ++t) c.text += " tok";
    c.prompt_tokens = j.prompt_tokens;
    c.completion_tokens = j.max_tokens;
    c.token_source = token_count_source::generator;
    c.finish = finish_reason::length;
    j.sink->on_complete(j.id, std::move(c));
    {
      std::lock_guard lock(mu_);
      active_ -= 1;
    }
    cv_.notify_all();
  }
}

}  // namespace moebench
