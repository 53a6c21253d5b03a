package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

// confirm asks on the terminal unless --yes; without a terminal it refuses.
func (p *project) confirm(cmd *cobra.Command, question string) error {
	if p.f.yes {
		return nil
	}
	return ask(cmd, question)
}

func ask(cmd *cobra.Command, question string) error {
	in := cmd.InOrStdin()
	if file, ok := in.(*os.File); ok {
		if _, err := unix.IoctlGetTermios(int(file.Fd()), unix.TCGETS); err != nil {
			return errors.New("not a terminal: pass --yes to go ahead without confirmation")
		}
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%s [y/N] ", question)
	// Ctrl-C while the question waits ends the command (up and destroy
	// hold the stack's lock meanwhile), rather than waiting for a line.
	answer := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(in).ReadString('\n')
		answer <- line
	}()
	var line string
	select {
	case line = <-answer:
	case <-cmd.Context().Done():
		fmt.Fprintln(cmd.ErrOrStderr())
		return cmd.Context().Err()
	}
	if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
		return errors.New("cancelled")
	}
	return nil
}
