package main

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"
)

// completionFlag is the flag urfave/cli answers with completions, the last
// argument of a completion request.
const completionFlag = "--generate-bash-completion"

// completing reports whether args (the whole command line) ask for
// completions: flagsFirst must not move the flag from the end then.
func completing(args []string) bool {
	return len(args) > 1 && args[len(args)-1] == completionFlag
}

// bashCompletion asks the program itself (conveyor-wasm ... --generate-bash-completion)
// for the words that may follow; it needs nothing but bash (no
// bash-completion package) and runs no eval.
const bashCompletion = `# bash completion for conveyor-wasm
# Load it with: source <(conveyor-wasm completion bash)
# or install it: conveyor-wasm completion bash > /etc/bash_completion.d/conveyor-wasm
_conveyor_wasm_complete() {
  local cur="${COMP_WORDS[COMP_CWORD]}"
  local words=("${COMP_WORDS[@]:0:COMP_CWORD}")
  local opts
  if [[ "$cur" == -* ]]; then
    opts=$("${words[@]}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    opts=$("${words[@]}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "${opts}" -- "${cur}"))
}
complete -o bashdefault -o default -F _conveyor_wasm_complete conveyor-wasm
`

// zshCompletion is urfave/cli's zsh script, for this program.
const zshCompletion = `#compdef conveyor-wasm
# zsh completion for conveyor-wasm
# Load it with: source <(conveyor-wasm completion zsh)
# or install it as _conveyor-wasm in a directory of $fpath.
_conveyor_wasm() {
  local -a opts
  local cur
  cur=${words[-1]}
  if [[ "$cur" == "-"* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
compdef _conveyor_wasm conveyor-wasm
`

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash, zsh or fish",
		ArgsUsage: "bash|zsh|fish",
		Description: "bash: source <(conveyor-wasm completion bash)\n" +
			"zsh:  source <(conveyor-wasm completion zsh)\n" +
			"fish: conveyor-wasm completion fish | source",
		HideHelpCommand: true,
		BashComplete: func(c *cli.Context) {
			if c.NArg() == 0 {
				fmt.Fprintln(c.App.Writer, "bash\nzsh\nfish")
			}
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return &exitError{code: 2, err: fmt.Errorf("usage: conveyor-wasm completion bash|zsh|fish")}
			}
			var script string
			switch shell := c.Args().First(); shell {
			case "bash":
				script = bashCompletion
			case "zsh":
				script = zshCompletion
			case "fish":
				s, err := c.App.ToFishCompletion()
				if err != nil {
					return &exitError{code: 1, err: fmt.Errorf("fish completion: %w", err)}
				}
				script = s
			default:
				return &exitError{code: 2, err: fmt.Errorf("completion: unknown shell %q (want bash, zsh or fish)", shell)}
			}
			_, err := io.WriteString(c.App.Writer, script)
			return err
		},
	}
}
