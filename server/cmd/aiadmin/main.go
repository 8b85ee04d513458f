// Command aiadmin serves the admin API of an LLM inference fleet.
//
//	aiadmin [serve] [flags]   serve (see -h for every flag and its AIADMIN_* variable)
//	aiadmin hash-secret       print the hex SHA-256 of a secret read from standard input
//	aiadmin help [<command>]  print the help of aiadmin or of a command
//	aiadmin --version         print the version
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"go.uber.org/zap"

	"github.com/threatwinds/aiadmin/clients/auth"
	"github.com/threatwinds/aiadmin/server"
)

// version is set at build time from git (the Makefile's build target passes
// -ldflags "-X main.version=..."); a plain go build reports dev.
var version = "dev"

func main() {
	cmd, cfg, err := server.ParseCommandLine(os.Args[1:], os.Getenv, server.CommandLineOptions{Stdout: os.Stdout, Version: version})
	if errors.Is(err, server.ErrShown) {
		return
	}
	if err != nil {
		// One plain line naming the setting; -h has the rest.
		fmt.Fprintf(os.Stderr, "aiadmin: invalid configuration: %v\n", err)
		os.Exit(2)
	}
	if cmd == server.CommandHashSecret {
		os.Exit(hashSecret())
	}
	zcfg := zap.NewProductionConfig()
	zcfg.Level = zap.NewAtomicLevelAt(cfg.LogLevel)
	log, err := zcfg.Build()
	if err != nil {
		fmt.Fprintf(os.Stderr, "aiadmin: building logger: %v\n", err)
		os.Exit(1)
	}
	defer func() { _ = log.Sync() }()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app, err := server.NewApp(ctx, cfg, log)
	if err != nil {
		// One plain line; the error names the setting at fault.
		_ = log.Sync()
		fmt.Fprintf(os.Stderr, "aiadmin: cannot start: %v\n", err)
		os.Exit(1)
	}
	if err := app.Run(ctx); err != nil {
		log.Error("stopped", zap.Error(err))
		os.Exit(1)
	}
}

// hashSecret prints the hash a credentials file stores for a secret.
func hashSecret() int {
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && line == "" {
		fmt.Fprintln(os.Stderr, "aiadmin hash-secret: reading the secret from standard input:", err)
		return 1
	}
	secret := strings.TrimRight(line, "\r\n")
	if secret == "" {
		fmt.Fprintln(os.Stderr, "aiadmin hash-secret: the secret is empty")
		return 1
	}
	fmt.Println(auth.HashSecret(secret))
	return 0
}
