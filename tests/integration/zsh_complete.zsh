# Prints, one per line, what zsh's completion system offers for a command line, the way a user
# gets it by pressing Tab: an interactive `zsh -f` on a pseudo-terminal (zsh/zpty) runs compinit
# with the completion directory first in $fpath, then the line is typed with a Tab. compadd is
# wrapped to print the matches zsh itself selected (`compadd -A`: after its own prefix matching).
#   zsh -f zsh_complete.zsh FPATH_DIR 'converge rollback App//'
zmodload zsh/zpty || exit 3
zpty z zsh -f -i
zpty -w z "PS1=''; fpath=(${(q)1} \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z 'compadd() {
  if (( ${@[(I)-[OAD]]} )); then builtin compadd "$@"; return; fi
  local -a hits; builtin compadd -A hits "$@"
  (( $#hits )) && print -r -- "<<<${(j:>>><<<:)hits}>>>"
  builtin compadd "$@"
}'
zpty -w z 'comppostfuncs=(__report_done); __report_done() { print -r -- "<<DONE>>"; exit }'
zpty -w z 'print -r -- "<<READY"">>"'
local line m
while zpty -r z line; do [[ $line == *'<<READY>>'* ]] && break; done
zpty -w -n z "$2"$'\t'
while zpty -r z line; do
  [[ $line == *'<<DONE>>'* ]] && break
  [[ $line == *'<<<'* ]] || continue
  for m in ${(s:>>><<<:)${${line#*<<<}%>>>*}}; do print -r -- $m; done
done
zpty -d z
