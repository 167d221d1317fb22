# SPDX-License-Identifier: Apache-2.0
# Prints, one per line, the matches zsh's completion system offers at the end of
# the command line $2, with the completion functions of directory $1 first on
# fpath. Runs an interactive zsh on a pseudo-terminal and presses Tab.
zmodload zsh/zpty || exit 2
zpty z zsh -f -i
zpty -w z "PROMPT= RPROMPT=; fpath=(${(q)1} \$fpath); autoload -U compinit; compinit -u -D"
# Each compadd call prints what it would offer, then offers it; -O/-A/-D calls only collect.
# The markers are split in what is typed ("<mat""ch>"), so the terminal's echo of these
# lines never looks like their output, however late a loaded machine runs them.
zpty -w z 'compadd() { if [[ ${@[1,(i)(-|--)]} != *-(O|A|D)\ * ]]; then local -a __m; builtin compadd -A __m "$@"; (( $#__m )) && print -rl -- "<mat""ch>"${^__m}; fi; builtin compadd "$@"; }'
zpty -w z 'comppostfuncs=(__done); __done() { print -r -- "<do""ne>"; exit; }'
zpty -w z 'bindkey "^I" complete-word; print -r -- "<rea""dy>"'
zpty -r z line '*<ready>*'
zpty -w z "$2"$'\t'
while zpty -r z line; do
    [[ $line == *'<done>'* ]] && break
    [[ $line == *'<match>'* ]] && print -r -- ${${line##*<match>}%%$'\r'*}
done
zpty -d z
