// Package emu emulates an NXP MFRC522 reader chip at register level,
// together with ISO/IEC 14443-3 type A cards in its field, closely enough
// that a bug in a driver shows up in a test.
//
// A Chip is both a periph spi.Port and the spi.Conn that Connect returns, so
// a driver talks to it exactly as to the hardware: one address byte, then
// data, per chip-select frame. Its IRQ and NRSTPD (reset) pins are a
// gpio.PinIn and a gpio.PinOut. Cards are placed in and removed from the
// field with Place and Remove.
//
// # Time
//
// The chip never runs on its own. Radio frames, the card answer delay,
// the timer, the CRC coprocessor and card power-up are evaluated lazily
// against Clock.Now at every register access: after StartSend a frame is on
// air for iso14443.FrameAirTime of its bits, and a card answers
// iso14443.FDTShort after its end (plus its WithAnswerDelay).
//
// The answer fills the FIFO while it arrives: a byte is in the FIFO once
// its last bit (and parity bit) has been received, 10+9k etu after the
// start of the answer for byte k, so meanwhile FIFOLevelReg grows,
// HiAlert and LoAlert follow, Status2Reg.ModemState reads 110 (receiving),
// and bytes the host reads are gone. RxIRq, ErrIRq and ErrorReg (CRCErr,
// ParityErr, ProtocolErr, CollErr, BufferOvfl) and CollReg change only
// once the clock has passed the end of the answer. With RxCRCEn the
// receiver holds the last two bytes back, so the CRC_A never reaches the
// FIFO. The details are on decode in radio.go.
//
// With a VirtualClock every Tx or TxPackets call charges
// ChipOptions.TransferLatency plus 8/SPIHz per byte to the clock, so a
// driver that polls sees time pass at the rate of its own SPI traffic; an
// IRQ waiter moves the clock to the next event that would produce its edge.
// With SystemClock (the daemon's emulated readers) time is the wall clock
// and nothing sleeps.
//
// # What is modelled
//
//   - All registers with their reset values, SPI framing (multi-byte reads
//     and FIFO writes in one frame, frames spanning KeepCS packets), Set1/Set2
//     interrupt-register writes, the 64-byte FIFO with water level alerts and
//     BufferOvfl.
//   - Commands Idle, Mem, GenerateRandomID, CalcCRC (all CRC presets),
//     Transmit, NoCmdChange, Receive, Transceive (stays active; each StartSend
//     sends again), MFAuthent (see below), SoftReset; PowerDown and RcvOff.
//   - Transmission with TxLastBits and TxCRCEn, TxWaitRF; reception byte
//     by byte into the FIFO with RxAlign, RxLastBits, RxCRCEn (CRC checked
//     and stripped), RxNoErr, ErrorReg, CollReg and bit collisions between
//     several cards; cards that answer late (WithAnswerDelay: only the
//     first to answer are heard).
//   - The timer (TAuto, TAutoRestart, TStartNow/TStopNow, TPrescalEven).
//   - The RF field (Tx1RFEn/Tx2RFEn), card power-up time and the 5 ms
//     guard time after field-on (Stats.GuardViolations).
//   - The IRQ pin (IRqInv, IRQPushPull, open drain with the host's pull)
//     with both periph WaitForEdge conventions, and the NRSTPD pin.
//   - Card state machines: IDLE, READY, ACTIVE, HALT and READY*/ACTIVE*,
//     cascade levels 1 to 3, anticollision with partial bytes.
//   - Injected faults (Inject): CRC, parity and protocol errors, silent
//     cards, SPI bus errors, an absent chip.
//
// # What is not modelled
//
// MIFARE Crypto1: MFAuthent sends the authentication command but the cards
// here answer nothing after SELECT except HLTA, so authentication always
// ends in a timeout and MFCrypto1On stays 0. Card memory (READ, WRITE),
// ISO/IEC 14443-4, bit rates above 106 kbit/s, RxMultiple, the self-test,
// MFIN/MFOUT, gated timer modes, the analog settings (gain, modulation
// width: stored, without effect), temperature errors, I2C and UART hosts.
//
// Where the data sheet leaves a detail open, the choice made here is
// written next to the code that makes it.
package emu
