// Split grading at the executor level (docs/grading.md): the candidate and the checker in two
// sandboxed processes, plain data between them. The humaneval suite's forgery corpus is in
// tests/suites/humaneval/grading_test.cpp.
#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "moebench/sandbox/sandbox.h"
#include "test_util.h"

namespace moebench::sandbox {
namespace {

exec_request split(std::string candidate, std::string checker, std::string setup = "",
                   std::vector<std::string> entry_points = {"f"}, int64_t wall_ms = 3000) {
  exec_request r = test::python("", wall_ms, 2000);
  r.split = split_program{std::move(candidate), std::move(setup), std::move(checker),
                          std::move(entry_points)};
  return r;
}

class split_grading : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    executor_options o;
    o.backend = "ns";
    try {
      exec_ = make_executor(o).release();
    } catch (const std::exception& e) {
      unavailable_ = e.what();
    }
  }
  static void TearDownTestSuite() {
    delete exec_;
    exec_ = nullptr;
  }
  void SetUp() override {
    if (!exec_) GTEST_SKIP() << "ns backend unavailable: " << unavailable_;
    ASSERT_TRUE(exec_->info().split_grading);
  }
  static executor* exec_;
  static std::string unavailable_;
};
executor* split_grading::exec_ = nullptr;
std::string split_grading::unavailable_;

TEST_F(split_grading, plain_values_cross_with_their_exact_types) {
  const char* candidate = R"PY(
def f(kind):
    return {
        "none": None, "bool": True, "int": -(2**100), "float": -0.0, "nan": float("nan"),
        "complex": 1 + 2j, "str": "h\u00e9\udcff", "bytes": b"\x00\xff",
        "list": [1, [2, (3,)]], "tuple": (), "dict": {"a": 1, (1, 2): frozenset({3})},
        "set": {1, 2}, "frozenset": frozenset(), "ints": list(range(100)),
        "floats": tuple(float(i) for i in range(20)), "strs": ["a", "\u00e9"] * 20,
    }[kind]
)PY";
  const char* checker = R"PY(
import math
for kind, want in [("none", None), ("bool", True), ("int", -(2**100)), ("complex", 1 + 2j),
                   ("str", "h\u00e9\udcff"), ("bytes", b"\x00\xff"), ("list", [1, [2, (3,)]]),
                   ("tuple", ()), ("dict", {"a": 1, (1, 2): frozenset({3})}), ("set", {1, 2}),
                   ("frozenset", frozenset()), ("ints", list(range(100))),
                   ("floats", tuple(float(i) for i in range(20))), ("strs", ["a", "\u00e9"] * 20)]:
    got = f(kind)
    assert type(got) is type(want) and got == want, (kind, got)
assert f("bool") is True
z = f("float")
assert type(z) is float and z == 0.0 and math.copysign(1, z) == -1
assert math.isnan(f("nan"))
assert type(f("list")[1][1]) is tuple
)PY";
  const exec_result r = exec_->run(split(candidate, checker));
  EXPECT_EQ(r.status, verdict::passed) << r.detail << r.stderr_text;
  EXPECT_TRUE(r.nonce_ok);
}

TEST_F(split_grading, arguments_keyword_arguments_and_in_place_changes_reach_the_checker) {
  const char* candidate = R"PY(
def f(xs, grid, d, *, scale=1):
    xs.sort()
    grid[0][0] = 9
    d["new"] = scale
    return [x * scale for x in xs]
def g(big):
    return len(big)
)PY";
  const char* checker = R"PY(
xs, grid, d = [3, 1, 2], [[0, 1], [2, 3]], {"k": 0}
inner = grid[0]
assert f(xs, grid, d, scale=2) == [2, 4, 6]
assert xs == [1, 2, 3] and grid == [[9, 1], [2, 3]] and d == {"k": 0, "new": 2}
assert grid[0] is inner, "nested containers keep their identity"
big = list(range(100000))
assert g(big) == 100000 and g(big) == 100000
big.append(1)
assert g(big) == 100001
)PY";
  const exec_result r = exec_->run(split(candidate, checker, "", {"f", "g"}));
  EXPECT_EQ(r.status, verdict::passed) << r.detail << r.stderr_text;
}

TEST_F(split_grading, exceptions_cross_as_their_builtin_type_or_a_generic_one) {
  const char* candidate = R"PY(
class Mine(Exception):
    pass
def f(kind):
    if kind == "value":
        raise ValueError("bad value")
    if kind == "key":
        raise KeyError("k")
    raise Mine("custom")
)PY";
  const char* checker = R"PY(
try:
    f("value")
    assert False
except ValueError as e:
    assert str(e) == "bad value"
try:
    f("key")
    assert False
except KeyError:
    pass
try:
    f("mine")
    assert False
except Exception as e:
    assert type(e).__name__ == "CandidateError" and "Mine: custom" in str(e), repr(e)
)PY";
  const exec_result r = exec_->run(split(candidate, checker));
  EXPECT_EQ(r.status, verdict::passed) << r.detail << r.stderr_text;
}

TEST_F(split_grading, a_value_that_is_not_plain_data_fails_and_says_so_even_if_the_checks_swallow_it) {
  const char* candidate = R"PY(
class Anything:
    def __eq__(self, other):
        return True
def f():
    return [1, Anything()]
)PY";
  const exec_result r = exec_->run(split(candidate, "try:\n    f()\nexcept BaseException:\n    pass\n"));
  EXPECT_EQ(r.status, verdict::failed) << r.detail;
  EXPECT_NE(r.detail.find("the return value of f()[1] has type Anything, which is not plain data"),
            std::string::npos)
      << r.detail;
}

TEST_F(split_grading, the_candidate_holds_only_stdio_and_the_call_channel_and_sees_no_checker) {
  const char* candidate = R"PY(
import os
def f():
    return (sorted(int(x) for x in os.listdir("/proc/self/fd")),
            sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
            os.path.exists("/work/checker.py"), os.getpid())
)PY";
  // listdir itself holds one fd while it reads the directory.
  const char* checker = R"PY(
fds, pids, sees_checker, pid = f()
assert fds == [0, 1, 2, 3, 4], fds
assert pids == [pid], pids
assert not sees_checker
)PY";
  const exec_result r = exec_->run(split(candidate, checker));
  EXPECT_EQ(r.status, verdict::passed) << r.detail << r.stderr_text;
}

TEST_F(split_grading, module_level_tests_call_the_entry_point_by_name_and_helpers_come_from_the_setup) {
  const exec_result r = exec_->run(split(
      "def helper(x):\n    return -1\ndef add(a, b):\n    return a + b\n",
      "assert add(1, 2) == 3\nassert helper(2) == 4  # the checker's own helper\n",
      "def helper(x):\n    return x * 2\ndef add(a, b):\n    '''stub'''\n", {"add"}));
  EXPECT_EQ(r.status, verdict::passed) << r.detail << r.stderr_text;
}

TEST_F(split_grading, the_candidate_ending_early_is_never_a_pass) {
  struct expectation {
    const char* candidate;
    verdict want;
  };
  const expectation cases[] = {
      {"import os\nos._exit(0)\n", verdict::no_result},
      {"def f():\n    raise SystemExit(0)\n", verdict::no_result},
      {"def f():\n    raise SystemExit(3)\n", verdict::runtime_error},
      {"def f():\n    import ctypes\n    ctypes.string_at(0)\n", verdict::crashed},
      {"def f():\n    while True:\n        pass\n", verdict::timeout_cpu},
      {"def f():\n    import time\n    time.sleep(100)\n", verdict::timeout_wall},
      {"def f(:\n", verdict::runtime_error},
      {"def f():\n    import os\n    os.close(3)\n    import time\n    time.sleep(100)\n",
       verdict::no_result},
  };
  for (const auto& c : cases) {
    // CPU-bound cases get a generous wall limit: a loaded host must not turn them into wall timeouts.
    const bool cpu_bound = c.want == verdict::timeout_cpu;
    exec_request req = split(c.candidate, "assert f() == 1\n", "", {"f"}, cpu_bound ? 10000 : 2500);
    req.limits.cpu_ms = 1000;
    const exec_result r = exec_->run(req);
    EXPECT_EQ(r.status, c.want) << c.candidate << "\n" << r.detail << "\ncpu ns " << r.cpu_user_ns + r.cpu_sys_ns;
  }
}

TEST_F(split_grading, arguments_that_cannot_cross_are_an_infrastructure_verdict) {
  const exec_result r = exec_->run(split("def f(g):\n    return g(1)\n", "assert f(lambda x: x) == 1\n"));
  EXPECT_EQ(r.status, verdict::sandbox_error) << r.detail;
  EXPECT_NE(r.detail.find("--grading inprocess"), std::string::npos) << r.detail;
}

// The decoder the checker applies to everything the candidate sends, fuzzed with mutated and
// random frames (it is reached through the candidate's own copy of the driver): it returns a
// value or raises its one malformed-data exception, never anything else. Garbage sent down the
// channel is never a pass.
TEST_F(split_grading, the_plain_data_decoder_survives_mutated_and_random_frames) {
  const char* candidate = R"PY(
import random, sys
def f(seed):
    g = sys._getframe().f_back.f_globals
    encode, decode, malformed = g["_encode"], g["_decode"], g["_Malformed"]
    rng = random.Random(seed)
    samples = [None, True, -5, 2**80, 1.5, 3j, "s\u00e9", b"\x00", [1, [2, (3, frozenset({4}))]],
               {"k": {1: [None]}}, {1, 2}, list(range(40)), [0.5] * 20, ["ab"] * 20, ()]
    bad = []
    for i in range(20000):
        frame = bytearray(encode(("R", i), rng.choice(samples), "v"))[4:]
        if i % 3 == 0:
            frame = bytearray(rng.getrandbits(8) for _ in range(rng.randrange(1, 40)))
        else:
            for _ in range(rng.randrange(1, 4)):
                frame[rng.randrange(len(frame))] = rng.getrandbits(8)
            if rng.random() < 0.3:
                del frame[rng.randrange(len(frame)):]
        try:
            decode(bytes(frame))
        except malformed:
            pass
        except BaseException as e:
            bad.append("%s: %r" % (type(e).__name__, bytes(frame)[:60]))
    return bad[:5]
def garbage(seed):
    import os
    rng = random.Random(seed)
    os.write(3, bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 64))))
    return 1
)PY";
  const exec_result r = exec_->run(split(candidate, "assert f(1) == []\nassert f(2) == []\n", "", {"f"}, 60000));
  EXPECT_EQ(r.status, verdict::passed) << r.detail << r.stderr_text;
  for (int seed = 0; seed < 8; ++seed) {
    const exec_result g = exec_->run(split(candidate, "assert garbage(" + std::to_string(seed) + ") == 1\n", "",
                                           {"garbage"}, 1500));
    EXPECT_NE(g.status, verdict::passed) << seed;
    EXPECT_TRUE(g.status == verdict::failed || g.status == verdict::no_result || g.status == verdict::timeout_wall)
        << seed << ": " << to_string(g.status) << " " << g.detail;
  }
}

TEST(split_grading_process_backend, refuses_split_programs) {
  executor_options o;
  o.backend = "process";
  auto ex = make_executor(o);
  EXPECT_FALSE(ex->info().split_grading);
  exec_request req = test::python("", 3000, 2000);
  req.split = split_program{"def f():\n    return 1\n", "", "assert f() == 1\n", {"f"}};
  const exec_result r = ex->run(req);
  EXPECT_EQ(r.status, verdict::sandbox_error);
}

// Set iteration order, str hashes and `random` repeat for one named seed and change with it.
TEST(python_hash_seed, fixes_iteration_order_hashes_and_random_per_seed_on_both_backends) {
  const char* program = R"PY(
import os, random
print(os.environ.get("PYTHONHASHSEED"), hash("moebench"), list({"a", "b", "c", "d", "e", "f", "g"}), random.random())
)PY";
  for (const char* backend : {"ns", "process"}) {
    auto output = [&](uint32_t seed) {
      executor_options o;
      o.backend = backend;
      o.python_hash_seed = seed;
      auto ex = make_executor(o);
      const exec_result r = ex->run(test::python(program));
      EXPECT_EQ(r.status, verdict::passed) << backend << ": " << r.detail << r.stderr_text;
      return r.stdout_text;
    };
    const std::string a = output(12345), b = output(12345), c = output(777);
    EXPECT_EQ(a, b) << backend;
    EXPECT_NE(a, c) << backend;
    EXPECT_EQ(a.rfind("12345 ", 0), 0u) << backend << ": " << a;
  }
}

}  // namespace
}  // namespace moebench::sandbox
