package aiadmin_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/threatwinds/aiadmin/clients/aiadmin/aiadmintest"
)

// between returns the text after the first start (from offset 0) and
// before the next end.
func between(t *testing.T, text, start, end string) string {
	t.Helper()
	_, rest, ok := strings.Cut(text, start)
	if !ok {
		t.Fatalf("%q not found", start)
	}
	body, _, ok := strings.Cut(rest, end)
	if !ok {
		t.Fatalf("no %q after %q", end, start)
	}
	return body
}

// TestTheReadmeProgramIsTheExample keeps the README's SDK program and the
// package's Example one program: the same body, and the program builds and
// prints what the Example's Output says.
func TestTheReadmeProgramIsTheExample(t *testing.T) {
	root, err := aiadmintest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	section := between(t, string(readme), "## Using the SDK\n", "\n## ")
	program := between(t, section, "```go\n", "```\n")
	mainBody := between(t, program, "func main() {\n", "\n}\n")

	exBody := between(t, string(example), "func Example() {\n", "\n}\n")
	body, output, ok := strings.Cut(exBody, "\n\t// Output:\n")
	if !ok {
		t.Fatal("Example has no Output comment")
	}
	if mainBody != body {
		t.Errorf("README's main differs from Example's body:\n--- README\n%s\n--- Example\n%s", mainBody, body)
	}

	// Build it inside the module (a directory the go tool's patterns skip)
	// and run it against the demo server.
	dir, err := os.MkdirTemp(".", "_readme")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(program), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "fleetcheck")
	if out, err := exec.Command("go", "build", "-o", bin, "./"+dir).CombinedOutput(); err != nil {
		t.Fatalf("the README's program does not build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "AIADMIN_URL="+demo.URL, "AIADMIN_TOKEN="+demo.Creds.AdminToken)
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("running the README's program: %v", err)
	}
	var want strings.Builder
	for _, line := range strings.Split(output, "\n") {
		want.WriteString(strings.TrimPrefix(strings.TrimSpace(line), "// ") + "\n")
	}
	if string(got) != want.String() {
		t.Errorf("the README's program printed:\n%s\nwant:\n%s", got, want.String())
	}
}
