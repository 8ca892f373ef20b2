package tryboot

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// rebootParamFile is where systemd keeps the argument of the coming
// reboot(2): systemctl writes it, systemd-shutdown reads it last and calls
// reboot(LINUX_REBOOT_CMD_RESTART2, arg) (systemd src/shared/reboot-util.c,
// update_reboot_parameter_and_warn and reboot_with_parameter).
const rebootParamFile = "/run/systemd/reboot-param"

// SystemReboot is Config.Reboot for a Raspberry Pi running systemd. It
// writes arg to /run/systemd/reboot-param and runs
//
//	systemctl reboot --reboot-argument=<arg>
//
// which shuts the system down cleanly and ends in reboot(2) with arg. The
// Raspberry Pi kernel's firmware driver parses that argument, a partition
// number and optionally "tryboot", and passes it to the firmware (Linux
// commit "firmware: raspberrypi: Add support for tryonce reboot flag",
// 2020); the shell equivalent is sudo reboot "0 tryboot", 0 meaning the
// partition autoboot.txt chooses.
//
// It does not run "systemctl reboot <arg>": systemd deprecated that
// positional argument for --reboot-argument= (systemd PR #15958, 2020) and
// then removed it (PR #25507, 2022), after which systemctl refuses it as
// too many arguments. Writing the parameter file as well costs nothing
// and is what a plain "systemctl reboot" of any version honours; an empty
// arg removes it, so a stale "0 tryboot" cannot turn a normal reboot into
// a trial.
//
// systemctl returns once the reboot is queued; the caller should do no
// more work that must finish. It needs root.
func SystemReboot(arg string) error {
	if err := writeRebootParam(rebootParamFile, arg); err != nil {
		return err
	}
	cmd := rebootCommand(arg)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("tryboot: %s: %w: %s", strings.Join(cmd.Args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// rebootCommand is the systemctl invocation of SystemReboot.
func rebootCommand(arg string) *exec.Cmd {
	if arg == "" {
		return exec.Command("systemctl", "reboot")
	}
	return exec.Command("systemctl", "reboot", "--reboot-argument="+arg)
}

// writeRebootParam writes arg to path atomically (a temporary file renamed
// over it; /run is a tmpfs), or removes path when arg is empty. Like
// systemd it accepts printable ASCII of at most 255 bytes.
func writeRebootParam(path, arg string) error {
	if arg == "" {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("tryboot: remove reboot parameter: %w", err)
		}
		return nil
	}
	if len(arg) > 255 {
		return fmt.Errorf("tryboot: reboot parameter of %d bytes, more than 255", len(arg))
	}
	for _, c := range []byte(arg) {
		if c < 0x20 || c > 0x7e {
			return fmt.Errorf("tryboot: reboot parameter %q: not printable ASCII", arg)
		}
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("tryboot: reboot parameter: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".reboot-param-*")
	if err != nil {
		return fmt.Errorf("tryboot: reboot parameter: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.WriteString(arg); err != nil {
		tmp.Close()
		return fmt.Errorf("tryboot: write reboot parameter: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("tryboot: write reboot parameter: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("tryboot: write reboot parameter: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("tryboot: write reboot parameter: %w", err)
	}
	return nil
}
