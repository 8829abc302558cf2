"""`converge completion bash|zsh|fish`, each script run in its own shell the way that shell runs it
when a user presses Tab:
  - bash: the script is sourced and the completion function called with COMP_WORDS / COMP_CWORD;
  - zsh: an interactive `zsh -f` on a pseudo-terminal runs compinit with the script as `_converge`
    in $fpath and the line is typed with a Tab (zsh_complete.zsh prints the matches zsh selected);
  - fish: `complete -C LINE` after sourcing the script.
The same checks run in all three: subcommands, flags and their values, KIND/NAME keys from a real
state directory, and paths. scripts/deps.sh installs zsh and fish."""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
SHELLS = ("bash", "zsh", "fish")


class CompletionTest(harness.SandboxTestCase):
    DEPLOY_MS = 100

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="converge-completion-")
        cls.scripts = {}
        for shell in SHELLS:
            # zsh autoloads a completion function from a file named after it, found in $fpath.
            d = os.path.join(cls.tmp, shell)
            os.mkdir(d)
            cls.scripts[shell] = os.path.join(d, "_converge" if shell == "zsh" else "converge")
            with open(cls.scripts[shell], "w") as f:
                f.write(subprocess.run([harness.converge_bin(), "completion", shell], check=True,
                                       stdout=subprocess.PIPE, text=True).stdout)
        # zsh and fish run the command as typed (`converge`) to list keys: put it on PATH.
        cls.bin = os.path.join(cls.tmp, "bin")
        os.mkdir(cls.bin)
        os.symlink(os.path.abspath(harness.converge_bin()), os.path.join(cls.bin, "converge"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    def complete(self, *words, env=None, shell="bash"):
        """What `shell` offers for the last of `words` (the word being completed, maybe '')."""
        if shutil.which(shell) is None:
            self.skipTest(shell + " is not installed (scripts/deps.sh installs it)")
        e = dict(os.environ)
        e.pop("CONVERGE_STATE_DIR", None)
        e.update(env or {})
        e["PATH"] = self.bin + os.pathsep + e.get("PATH", "")
        script = self.scripts[shell]
        if shell == "bash":
            program = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); '
                       '_converge; printf "%s\\n" "${COMPREPLY[@]}"')
            argv = (["bash", "--norc", "--noprofile", "-c", program, "bash", script,
                     harness.converge_bin()] + list(words))
        else:
            line = " ".join(["converge"] + list(words))
            if shell == "zsh":
                argv = ["zsh", "-f", os.path.join(HERE, "zsh_complete.zsh"),
                        os.path.dirname(script), line]
            else:
                argv = ["fish", "--no-config", "-c", 'source $argv[1]; complete -C $argv[2]',
                        script, line]
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=e, timeout=30)
        self.assertEqual(p.returncode, 0, shell + ": " + p.stderr)
        # fish prints "match<TAB>description".
        return [w.split("\t")[0] for w in p.stdout.split("\n") if w]

    def state_with_two_apps(self):
        ws = self.workspace()
        ws.write("a.yaml", harness.app_yaml("/c/a"))
        ws.write("b.yaml", harness.app_yaml("/c/b"))
        self.assertRun(ws.apply(), 0, "apply")
        self.assertRun(ws.converge("hold", "App//c/b"), 0, "hold")
        return ws

    def test_subcommands(self):
        for shell in SHELLS:
            with self.subTest(shell=shell):
                self.assertEqual(self.complete("rol", shell=shell), ["rollback"])
                offered = self.complete("", shell=shell)
                for sub in ("validate", "plan", "apply", "rollback", "release", "completion", "schema"):
                    self.assertIn(sub, offered)
                self.assertNotIn("__complete-keys", offered, "the helper subcommand is hidden")

    def test_flags_and_their_values(self):
        for shell in SHELLS:
            with self.subTest(shell=shell):
                def offered(*words):
                    return sorted(self.complete(*words, shell=shell))
                self.assertEqual(offered("validate", "--st"), ["--strict"])
                self.assertEqual(offered("validate", "-o", ""), ["github", "json", "text"])
                self.assertEqual(offered("plan", "--output", "m"), ["markdown"])
                self.assertEqual(offered("plan", "--out"), ["--out", "--output"])
                self.assertEqual(offered("completion", ""), ["bash", "fish", "zsh"])
                self.assertEqual(offered("--no-c"), ["--no-color"])

    def test_flags_match_each_subcommands_help(self):
        # Generated from the parser, so every flag --help lists is offered, and nothing else.
        for sub in ("validate", "plan", "apply", "rollback", "watch", "sandbox", "schema"):
            p = subprocess.run([harness.converge_bin(), sub, "--help"], stdout=subprocess.PIPE,
                               text=True, check=True)
            in_help = set(n for names in re.findall(r"^\s+(-[-\w,]+)", p.stdout, re.M)
                          for n in names.split(",") if n.startswith("--"))
            for shell in SHELLS:
                with self.subTest(shell=shell):
                    offered = set(w for w in self.complete(sub, "--", shell=shell)
                                  if w.startswith("--"))
                    self.assertEqual(offered, in_help, sub)

    def test_kind_name_from_the_state_directory(self):
        ws = self.state_with_two_apps()
        for shell in SHELLS:
            with self.subTest(shell=shell):
                def offered(*words, env=None):
                    return sorted(self.complete(*words, env=env, shell=shell))
                self.assertEqual(offered("rollback", "--state-dir", ws.state_dir, "App//c/"),
                                 ["App//c/a", "App//c/b"])
                self.assertEqual(offered("history", "App"),
                                 [], "no state directory given and none by default: nothing")
                self.assertEqual(offered("history", "App", env={"CONVERGE_STATE_DIR": ws.state_dir}),
                                 ["App//c/a", "App//c/b"])
                # release offers what is held, hold what is not.
                self.assertEqual(offered("release", "--state-dir=" + ws.state_dir, ""), ["App//c/b"])
                self.assertEqual(offered("hold", "--state-dir", ws.state_dir, ""), ["App//c/a"])
                # The second positional of rerun is the spec directory: paths, not keys.
                self.assertNotIn("App//c/a", offered("rerun", "--state-dir", ws.state_dir,
                                                     "TrainingJob/x", ""))

    def test_no_state_directory_is_created_by_completing(self):
        missing = os.path.join(self.tmp, "no-state-here")
        for shell in SHELLS:
            with self.subTest(shell=shell):
                self.assertEqual(self.complete("rollback", "--state-dir", missing, "", shell=shell), [])
                self.assertFalse(os.path.exists(missing))

    def test_spec_directory_completes_paths(self):
        ws = self.workspace()
        for shell in SHELLS:
            with self.subTest(shell=shell):
                # bash and fish offer the whole path, zsh the name within the directory typed.
                offered = [os.path.basename(w.rstrip("/"))
                           for w in self.complete("validate", ws.root + "/sp", shell=shell)]
                self.assertEqual(offered, [os.path.basename(ws.spec_dir)])

    def test_zsh_and_fish_scripts_parse(self):
        for shell in SHELLS:
            with self.subTest(shell=shell):
                if shell == "bash":
                    continue
                p = subprocess.run([shell, "-n", self.scripts[shell]], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
                self.assertEqual(p.returncode, 0, shell + ": " + p.stdout)

if __name__ == "__main__":
    unittest.main()
