// Command aiadmin serves the admin API of an LLM inference fleet.
//
//	aiadmin [flags]        serve (see -h for every flag and its AIADMIN_* variable)
//	aiadmin hash-secret    print the hex SHA-256 of a secret read from standard input
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"go.uber.org/zap"

	"github.com/threatwinds/aiadmin/clients/auth"
	"github.com/threatwinds/aiadmin/server"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "hash-secret" {
		os.Exit(hashSecret())
	}
	cfg, err := server.ParseConfig(os.Args[1:], os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "aiadmin: invalid configuration:\n%v\n", err)
		os.Exit(2)
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
