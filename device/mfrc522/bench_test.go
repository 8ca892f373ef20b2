package mfrc522_test

import (
	"fmt"
	"testing"
	"time"

	periph "periph.io/x/devices/v3/mfrc522"

	"github.com/pkfreelance/seatgate/device/emu"
	"github.com/pkfreelance/seatgate/device/iso14443"
	"github.com/pkfreelance/seatgate/device/mfrc522"
)

// ioctlLatency is what one spidev ioctl costs on a Raspberry Pi (tens of
// microseconds); the emulator charges it per Tx or TxPackets call.
const ioctlLatency = 30 * time.Microsecond

var benchUIDs = []string{"04A1B2C3", "04A1B2C3D4E5F6", "0102030405060708090A"}

// BenchmarkReadUID compares one complete UID read by this driver with one
// by periph.io/x/devices/v3/mfrc522 v3.7.4 on the same emulated chip and
// card (card boots instantly, so periph's REQA straight after switching the
// field on is answered). Metrics: SPI transfers (ioctls) per read and
// emulated bus+radio time per read in µs. periph's ReadUID additionally
// waits for its 100 ms re-arm loop when the card arrives between two
// re-arms (mean 50 ms), which is not in its figure.
func BenchmarkReadUID(b *testing.B) {
	for _, s := range benchUIDs {
		u, err := iso14443.ParseUID(s)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("ours/%dbyte", len(u)), func(b *testing.B) {
			clk := emu.NewVirtualClock(start)
			chip := emu.NewChip(clk, emu.ChipOptions{TransferLatency: ioctlLatency})
			d, err := mfrc522.New(chip, mfrc522.Options{Clock: clk})
			if err != nil {
				b.Fatal(err)
			}
			var transfers int
			var elapsed time.Duration
			for b.Loop() {
				chip.RemoveAll()
				chip.Place(emu.NewCard(u, emu.WithPowerUp(0)))
				t0, n0 := clk.Now(), chip.Stats().Transfers
				c, err := d.ReadUID()
				if err != nil || !c.UID.Equal(u) {
					b.Fatalf("ReadUID = %v, %v", c.UID, err)
				}
				transfers += chip.Stats().Transfers - n0
				elapsed += clk.Now().Sub(t0)
			}
			b.ReportMetric(float64(transfers)/float64(b.N), "transfers/read")
			b.ReportMetric(float64(elapsed.Microseconds())/float64(b.N), "emu-µs/read")
		})
		b.Run(fmt.Sprintf("periph/%dbyte", len(u)), func(b *testing.B) {
			clk := emu.NewVirtualClock(start)
			chip := emu.NewChip(clk, emu.ChipOptions{TransferLatency: ioctlLatency})
			chip.Place(emu.NewCard(u, emu.WithPowerUp(0)))
			d, err := periph.NewSPI(chip, chip.ResetPin(), chip.IRQ())
			if err != nil {
				b.Fatal(err)
			}
			var transfers int
			var elapsed time.Duration
			wrong := 0
			for b.Loop() {
				t0, n0 := clk.Now(), chip.Stats().Transfers
				got, err := d.ReadUID(5 * time.Second)
				if err != nil {
					b.Fatalf("periph ReadUID: %v", err)
				}
				if !iso14443.UID(got).Equal(u) {
					wrong++
				}
				transfers += chip.Stats().Transfers - n0
				elapsed += clk.Now().Sub(t0)
			}
			b.ReportMetric(float64(transfers)/float64(b.N), "transfers/read")
			b.ReportMetric(float64(elapsed.Microseconds())/float64(b.N), "emu-µs/read")
			b.ReportMetric(float64(wrong)/float64(b.N), "wrong-uid/read")
		})
	}
}
