// Reading a spec directory that is (part of) a git work tree, with the git command line (the
// project reads git with the CLI elsewhere too; no libgit2 dependency).
//
//  * Locate(): is DIR in a work tree, where are its git directories (HEAD lives in the git dir,
//    refs and packed-refs in the common dir — they differ for `git worktree` checkouts)?
//  * Head(): the commit HEAD points at ("" on an unborn branch).
//  * ListTree()/ReadBlobs(): the spec files of a commit below DIR with their blob ids, and
//    their contents in one `git cat-file --batch` process, so `--committed-only` reads exactly
//    what was committed and re-parses only the files whose blob changed.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "specs/base/status.h"

namespace converge::watch {

// Runs argv (no shell, its own process group, signals reset: process::RunToEnd), feeding `input`
// on stdin; returns stdout. A non-zero exit is an error carrying the first line of stderr.
Result<std::string> RunCommand(const std::vector<std::string>& argv, const std::string& input = "");

struct GitRepo {
  std::string dir;         // the watched spec directory
  std::string git_dir;     // absolute: holds HEAD
  std::string common_dir;  // absolute: holds refs/ and packed-refs
};

// nullopt-like: a Result with kNotFound when `dir` is not inside a git work tree.
Result<GitRepo> LocateGit(const std::string& dir);

// The commit HEAD points at, or "" when the branch has no commit yet.
Result<std::string> GitHead(const GitRepo& repo);

struct TreeFile {
  std::string path;  // relative to the spec directory
  std::string blob;  // object id
};

// Spec files (*.yaml, *.yml; hidden names and symlinks skipped, as by the loader) of `commit`
// below the spec directory.
Result<std::vector<TreeFile>> GitListTree(const GitRepo& repo, const std::string& commit);

// Contents of blobs by id.
Result<std::map<std::string, std::string>> GitReadBlobs(const GitRepo& repo,
                                                        const std::vector<std::string>& blobs);

}  // namespace converge::watch
