"""`converge completion bash|zsh|fish`: the bash script is sourced in a real bash and driven the
way bash drives it (COMP_WORDS / COMP_CWORD, then the completion function): subcommands, flags,
option values and KIND/NAME keys from a real state directory complete. zsh and fish scripts are
checked with `zsh -n` / `fish -n` when those shells are installed."""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

import harness


class CompletionTest(harness.SandboxTestCase):
    DEPLOY_MS = 100

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="converge-completion-")
        cls.script = os.path.join(cls.tmp, "converge.bash")
        with open(cls.script, "w") as f:
            f.write(subprocess.run([harness.converge_bin(), "completion", "bash"], check=True,
                                   stdout=subprocess.PIPE, text=True).stdout)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    def complete(self, *words, env=None):
        """What bash offers for the last of `words` (the word being completed, maybe '')."""
        line = [harness.converge_bin()] + list(words)
        program = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); '
                   '_converge; printf "%s\\n" "${COMPREPLY[@]}"')
        e = dict(os.environ)
        e.pop("CONVERGE_STATE_DIR", None)
        e.update(env or {})
        p = subprocess.run(["bash", "--norc", "--noprofile", "-c", program, "bash", self.script]
                           + line, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=e, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        return [w for w in p.stdout.split("\n") if w]

    def state_with_two_apps(self):
        ws = self.workspace()
        ws.write("a.yaml", harness.app_yaml("/c/a"))
        ws.write("b.yaml", harness.app_yaml("/c/b"))
        self.assertRun(ws.apply(), 0, "apply")
        self.assertRun(ws.converge("hold", "App//c/b"), 0, "hold")
        return ws

    def test_subcommands(self):
        self.assertEqual(self.complete("rol"), ["rollback"])
        offered = self.complete("")
        for sub in ("validate", "plan", "apply", "rollback", "release", "completion", "schema"):
            self.assertIn(sub, offered)
        self.assertNotIn("__complete-keys", offered, "the helper subcommand is hidden")

    def test_flags_and_their_values(self):
        self.assertEqual(self.complete("validate", "--st"), ["--strict"])
        self.assertEqual(self.complete("validate", "-o", ""), ["text", "json", "github"])
        self.assertEqual(self.complete("plan", "--output", "m"), ["markdown"])
        self.assertEqual(self.complete("completion", ""), ["bash", "zsh", "fish"])
        self.assertEqual(self.complete("--no-c"), ["--no-color"])

    def test_flags_match_each_subcommands_help(self):
        # Generated from the parser, so every flag --help lists is offered, and nothing else.
        for sub in ("validate", "plan", "apply", "rollback", "watch", "sandbox", "schema"):
            p = subprocess.run([harness.converge_bin(), sub, "--help"], stdout=subprocess.PIPE,
                               text=True, check=True)
            in_help = set(n for names in re.findall(r"^\s+(-[-\w,]+)", p.stdout, re.M)
                          for n in names.split(",") if n.startswith("--"))
            offered = set(w for w in self.complete(sub, "--") if w.startswith("--"))
            self.assertEqual(offered, in_help, sub)

    def test_kind_name_from_the_state_directory(self):
        ws = self.state_with_two_apps()
        self.assertEqual(self.complete("rollback", "--state-dir", ws.state_dir, "App//c/"),
                         ["App//c/a", "App//c/b"])
        self.assertEqual(self.complete("history", "App"),
                         [], "no state directory given and none by default: nothing")
        self.assertEqual(self.complete("history", "App",
                                       env={"CONVERGE_STATE_DIR": ws.state_dir}),
                         ["App//c/a", "App//c/b"])
        # release offers what is held, hold what is not.
        self.assertEqual(self.complete("release", "--state-dir=" + ws.state_dir, ""), ["App//c/b"])
        self.assertEqual(self.complete("hold", "--state-dir", ws.state_dir, ""), ["App//c/a"])
        # The second positional of rerun is the spec directory: paths, not keys.
        self.assertNotIn("App//c/a", self.complete("rerun", "--state-dir", ws.state_dir,
                                                   "TrainingJob/x", ""))

    def test_no_state_directory_is_created_by_completing(self):
        missing = os.path.join(self.tmp, "no-state-here")
        self.assertEqual(self.complete("rollback", "--state-dir", missing, ""), [])
        self.assertFalse(os.path.exists(missing))

    def test_spec_directory_completes_paths(self):
        ws = self.workspace()
        offered = self.complete("validate", ws.root + "/sp")
        self.assertEqual(offered, [ws.spec_dir])

    def test_zsh_and_fish_scripts_parse(self):
        checked = 0
        for shell in ("zsh", "fish"):
            if shutil.which(shell) is None:
                continue
            script = os.path.join(self.tmp, "converge." + shell)
            with open(script, "w") as f:
                f.write(subprocess.run([harness.converge_bin(), "completion", shell], check=True,
                                       stdout=subprocess.PIPE, text=True).stdout)
            p = subprocess.run([shell, "-n", script], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
            self.assertEqual(p.returncode, 0, shell + ": " + p.stdout)
            checked += 1
        if checked == 0:
            self.skipTest("neither zsh nor fish is installed")


if __name__ == "__main__":
    unittest.main()
