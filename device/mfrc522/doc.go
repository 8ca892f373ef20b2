// Package mfrc522 drives an NXP MFRC522 contactless reader over a periph
// spi.Conn and activates ISO/IEC 14443-3 type A cards completely:
// REQA/WUPA, bit-oriented anticollision with collision resolution, cascade
// levels 1–3 (4-, 7- and 10-byte UIDs) decided by the SAK cascade bit,
// SELECT at every level and HLTA.
//
// Design points, each a deliberate difference from
// periph.io/x/devices/v3/mfrc522:
//
//   - The chip is reset once, at New, never per read. The antenna field is
//     switched on once and the driver leaves iso14443.FieldGuard (5 ms) of
//     unmodulated field before its first frame.
//   - Register accesses are batched: a whole command set-up (CRC mode,
//     flush, FIFO, command, StartSend) is one spi.Conn.TxPackets call, and
//     all status registers plus the expected FIFO bytes are read back in one
//     chip-select frame. A 4-byte UID read costs 7 SPI transfers. Ports
//     without TxPackets fall back to one Tx per frame.
//   - Response timeouts come from the chip's own timer (TAuto); the driver
//     sleeps for the computed air time rather than polling. An IRQ pin is
//     optional; without one the driver polls once the answer is due.
//   - ErrorReg conditions become typed errors (errors.Is with ErrCRC,
//     ErrParity, ...); Retryable tells which ones a retry can cure.
//   - A request can be started on one reader and finished later
//     (StartRequest/FinishRequest), so a scanner can pipeline many readers on
//     one bus: the radio of each reader works while the bus serves the others.
//
// Hardware is passed in: New takes an spi.Conn and optional pins; it never
// opens a bus by name.
package mfrc522
