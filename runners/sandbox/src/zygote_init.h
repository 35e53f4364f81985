#pragma once
// The "ns" backend's sandbox instance, C++ half (see zygote_init.cpp).
namespace moebench::sandbox::detail {
// argv: moebench-sandbox-init zygote PYTHON [--no-userns]. Never returns.
[[noreturn]] void run_zygote(int argc, char** argv);
}  // namespace moebench::sandbox::detail
