package emu_test

import (
	"fmt"
	"time"

	"github.com/pkfreelance/seatgate/device/emu"
	"github.com/pkfreelance/seatgate/device/iso14443"
)

// A REQA sent by hand, register by register, as a driver would: the ATQA
// of a 7-byte card arrives in the FIFO once enough virtual time has passed.
func Example() {
	clock := emu.NewVirtualClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	chip := emu.NewChip(clock, emu.ChipOptions{Name: "door"})
	card := emu.NewCard(iso14443.UID{0x04, 0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6})
	chip.Place(card)

	write := func(reg byte, data ...byte) { _ = chip.Tx(append([]byte{reg << 1}, data...), nil) }
	read := func(reg byte) byte {
		rx := make([]byte, 2)
		_ = chip.Tx([]byte{0x80 | reg<<1, 0}, rx)
		return rx[1]
	}
	const (
		CommandReg, ComIrqReg, FIFODataReg, FIFOLevelReg = 0x01, 0x04, 0x09, 0x0A
		BitFramingReg, TxControlReg                      = 0x0D, 0x14
		Transceive                                       = 0x0C
	)

	write(TxControlReg, 0x83)         // field on
	clock.Sleep(5 * time.Millisecond) // guard time: the card powers up
	write(FIFODataReg, iso14443.REQA)
	write(CommandReg, Transceive)
	write(BitFramingReg, 0x87) // StartSend, 7 bits
	fmt.Printf("at once: ComIrqReg %02X, FIFO %d bytes\n", read(ComIrqReg), read(FIFOLevelReg))
	clock.Sleep(400 * time.Microsecond) // REQA 85 µs + 91 µs + ATQA 189 µs
	fmt.Printf("400 µs later: ComIrqReg %02X, FIFO %d bytes: %02X %02X\n",
		read(ComIrqReg), read(FIFOLevelReg), read(FIFODataReg), read(FIFODataReg))
	fmt.Println("card:", card.State())
	// Output:
	// at once: ComIrqReg 14, FIFO 0 bytes
	// 400 µs later: ComIrqReg 74, FIFO 2 bytes: 44 00
	// card: READY
}
