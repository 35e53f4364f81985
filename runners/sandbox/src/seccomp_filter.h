#pragma once
// The seccomp policy of the "ns" backend, built with libseccomp and exported as classic BPF so
// that the warm Python zygote can install it in each payload with one prctl call.
#include <string>

namespace moebench::sandbox::detail {

// Writes the filter program to `fd` (raw struct sock_filter array). Returns "" or an error.
std::string export_seccomp_filter(int fd);

}  // namespace moebench::sandbox::detail
