// The process runner (reconcilers/common/process.h) with real processes: exit codes and signals,
// output kept bounded, stdin fed, the environment on top of ours, the whole group killed, signals
// reset in the child. The only unit tests that wait for real time: a child is polled every 5 ms
// for at most 10 s.
#include "reconcilers/common/process.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <thread>

namespace converge::process {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::unique_ptr<Process> Start(std::vector<std::string> argv, SpawnOptions o = {}) {
  o.argv = std::move(argv);
  auto p = SystemLauncher().Spawn(o);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? std::move(*p) : nullptr;
}

std::unique_ptr<Process> Shell(const std::string& script, SpawnOptions o = {}) {
  return Start({"/bin/sh", "-c", script}, std::move(o));
}

// Polls until the child ends (at most 10 s).
std::optional<ExitStatus> PollUntilEnded(Process& p) {
  for (int i = 0; i < 2000; ++i) {
    if (auto st = p.Poll()) return st;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return std::nullopt;
}

// The first line the child wrote on stdout (at most 10 s).
std::string FirstLine(Process& p) {
  for (int i = 0; i < 2000; ++i) {
    std::string out = p.Stdout().text;
    if (auto nl = out.find('\n'); nl != std::string::npos) return out.substr(0, nl);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return "";
}

// Gone, or a zombie waiting for init: either way not running any more.
bool Ended(int pid) {
  for (int i = 0; i < 2000; ++i) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!stat || !std::getline(stat, line)) return true;
    auto close = line.rfind(')');
    if (close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z')
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

TEST(ProcessTest, ExitCodeStdoutAndStderr) {
  auto p = Shell("echo out; echo err >&2; exit 3");
  ASSERT_NE(p, nullptr);
  ExitStatus st = p->Wait();
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.code, 3);
  EXPECT_EQ(st.signal, 0);
  EXPECT_EQ(st.Describe(), "exit code 3");
  EXPECT_EQ(p->Stdout().text, "out\n");
  EXPECT_EQ(p->Stderr().text, "err\n");
  EXPECT_EQ(p->Stderr().dropped, 0u);
  auto again = p->Poll();  // the status stays
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->code, 3);
}

TEST(ProcessTest, PollDoesNotBlockAndKillEndsTheWholeGroup) {
  // The shell starts a background sleep and prints its pid: Kill must reach that one too.
  auto p = Shell("sleep 30 & echo $!; wait");
  ASSERT_NE(p, nullptr);
  const std::string child = FirstLine(*p);
  ASSERT_FALSE(child.empty());
  const auto before = std::chrono::steady_clock::now();
  EXPECT_FALSE(p->Poll().has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::milliseconds(500));
  p->Kill();
  auto st = PollUntilEnded(*p);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->signal, SIGKILL);
  EXPECT_EQ(st->Describe(), "signal 9 (SIGKILL)");
  EXPECT_TRUE(Ended(std::stoi(child))) << "the background sleep survived the kill";
  p->Kill();  // reaped: a no-op
}

TEST(ProcessTest, DestroyingARunningProcessKillsAndReapsIt) {
  auto p = Shell("echo $$; exec sleep 30");
  ASSERT_NE(p, nullptr);
  const std::string pid = FirstLine(*p);
  ASSERT_FALSE(pid.empty());
  const auto before = std::chrono::steady_clock::now();
  p.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(5));
  EXPECT_TRUE(Ended(std::stoi(pid)));
}

TEST(ProcessTest, TheEnvironmentIsOursWithTheExtraOnTop) {
  ::setenv("CONVERGE_PROCESS_TEST_OURS", "inherited", 1);
  ::setenv("CONVERGE_PROCESS_TEST_OVERRIDDEN", "old", 1);
  SpawnOptions o;
  o.env = {{"CONVERGE_PROCESS_TEST_OVERRIDDEN", "new value"}, {"CONVERGE_JOB", "job-1"}};
  auto p = Shell(
      "echo \"$CONVERGE_PROCESS_TEST_OURS|$CONVERGE_PROCESS_TEST_OVERRIDDEN|$CONVERGE_JOB\"; "
      "env | grep -c '^CONVERGE_PROCESS_TEST_OVERRIDDEN='",
      o);
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(p->Wait().ok());
  EXPECT_EQ(p->Stdout().text, "inherited|new value|job-1\n1\n");
  ::unsetenv("CONVERGE_PROCESS_TEST_OURS");
  ::unsetenv("CONVERGE_PROCESS_TEST_OVERRIDDEN");
}

TEST(ProcessTest, OutputIsBoundedToItsLastBytes) {
  SpawnOptions o;
  o.stdout_limit = 1000;  // stderr: the default 64 KiB
  auto p = Shell(
      "head -c 200000 /dev/zero | tr '\\000' a; printf END; "
      "head -c 100000 /dev/zero | tr '\\000' b >&2; printf TAIL >&2",
      o);
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(p->Wait().ok());
  Output out = p->Stdout(), err = p->Stderr();
  EXPECT_EQ(out.text.size(), 1000u);
  EXPECT_THAT(out.text, EndsWith("aaaEND"));
  EXPECT_EQ(out.dropped, 200003u - 1000u);
  EXPECT_EQ(err.text.size(), kDefaultOutputLimit);
  EXPECT_THAT(err.text, EndsWith("bbbTAIL"));
  EXPECT_EQ(err.dropped, 100004u - kDefaultOutputLimit);
}

TEST(ProcessTest, AChattyChildIsDrainedWhileNobodyPolls) {
  // 4 MiB on each stream is far more than a pipe holds: without the reader thread the child
  // would block until someone polled.
  auto p = Shell("head -c 4194304 /dev/zero; head -c 4194304 /dev/zero >&2; echo done >&2");
  ASSERT_NE(p, nullptr);
  auto st = PollUntilEnded(*p);
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(st->ok());
  EXPECT_EQ(p->Stdout().dropped + p->Stdout().text.size(), 4194304u);
  EXPECT_THAT(p->Stderr().text, EndsWith("done\n"));
}

TEST(ProcessTest, RunToEndFeedsStdinAndReturnsAllOfStdout) {
  std::string input;
  for (int i = 0; i < 30000; ++i) input += "line " + std::to_string(i) + "\n";  // > 64 KiB
  auto out = RunToEnd(SystemLauncher(), {"cat"}, input);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, input);
  // A child that stops reading early neither blocks nor kills us (SIGPIPE).
  auto head = RunToEnd(SystemLauncher(), {"head", "-n", "1"}, input + input + input);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(*head, "line 0\n");
}

TEST(ProcessTest, RunToEndFailuresNameTheCommandAndTheFirstLineOfStderr) {
  auto r = RunToEnd(SystemLauncher(), {"sh", "-c", "echo first >&2; echo second >&2; exit 1"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_EQ(r.status().message(), "sh -c failed: first");
  auto missing = RunToEnd(SystemLauncher(), {"/nonexistent/converge-tool", "x"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kUnavailable);
  EXPECT_THAT(missing.status().message(),
              StartsWith("cannot run /nonexistent/converge-tool: No such file"));
  EXPECT_FALSE(SystemLauncher().Spawn(SpawnOptions{}).ok());
}

TEST(ProcessTest, SignalsBlockedHereAreResetInTheChild) {
  // converge watch blocks SIGTERM in every thread (its signalfd): a command must still die of it.
  sigset_t term, old;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &term, &old), 0);
  auto p = Shell("kill -TERM $$; sleep 5; exit 0");
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ASSERT_NE(p, nullptr);
  auto st = PollUntilEnded(*p);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->signal, SIGTERM);
}

TEST(ProcessTest, TailKeepsTheLastLinesWithinABound) {
  EXPECT_EQ(Tail("a\nb\nc\nd\n\n", 2, 100), "c\nd");
  EXPECT_EQ(Tail("one line", 3, 100), "one line");
  EXPECT_EQ(Tail("", 3, 100), "");
  EXPECT_EQ(Tail("aaaa\nbbbbbbbbbb\ncc\n", 10, 8), "cc");  // cut at a line start
  EXPECT_EQ(Tail("xxxxxxxxxxxx", 10, 5), "xxxxx");         // one long line: its end
}

}  // namespace
}  // namespace converge::process
