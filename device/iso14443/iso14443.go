package iso14443

import "time"

// Short frames (7 bits) and standard-frame command bytes.
const (
	REQA = 0x26 // request, answered by cards in IDLE
	WUPA = 0x52 // wake-up, answered by cards in IDLE and HALT

	SEL1 = 0x93 // anticollision/select, cascade level 1
	SEL2 = 0x95 // cascade level 2
	SEL3 = 0x97 // cascade level 3

	HLTA0 = 0x50 // HLTA is 50 00 followed by CRC_A
	HLTA1 = 0x00

	// CT is the cascade tag: the first byte of CLn when more levels follow.
	CT = 0x88

	// NVBSelect is the NVB of a SELECT: 7 whole bytes (SEL, NVB, 4 UID bytes, BCC).
	NVBSelect = 0x70

	// SAKCascade set in a SAK means the UID is not complete.
	SAKCascade = 0x04
	// SAKISO14443_4 set in a SAK means the card speaks ISO/IEC 14443-4.
	SAKISO14443_4 = 0x20
)

// SelectCommand returns the SEL byte of cascade level n (1..3).
func SelectCommand(level int) byte {
	switch level {
	case 1:
		return SEL1
	case 2:
		return SEL2
	case 3:
		return SEL3
	}
	panic("iso14443: cascade level out of range")
}

// CRCA computes CRC_A over data: initial value 0x6363, reflected polynomial
// 0x8408. The two result bytes are sent low byte first.
func CRCA(data []byte) [2]byte {
	crc := uint16(0x6363)
	for _, b := range data {
		b ^= byte(crc)
		b ^= b << 4
		crc = (crc >> 8) ^ uint16(b)<<8 ^ uint16(b)<<3 ^ uint16(b)>>4
	}
	return [2]byte{byte(crc), byte(crc >> 8)}
}

// AppendCRCA appends CRC_A of data to data.
func AppendCRCA(data []byte) []byte {
	c := CRCA(data)
	return append(data, c[0], c[1])
}

// CheckCRCA reports whether the last two bytes of frame are the CRC_A of
// the bytes before them.
func CheckCRCA(frame []byte) bool {
	if len(frame) < 3 {
		return false
	}
	c := CRCA(frame[:len(frame)-2])
	return c[0] == frame[len(frame)-2] && c[1] == frame[len(frame)-1]
}

// BCC is the block check character of one cascade level: the XOR of its four bytes.
func BCC(b []byte) byte {
	var x byte
	for _, v := range b {
		x ^= v
	}
	return x
}

// Timing of type A at 106 kbit/s.
const (
	// ETU is one elementary time unit, 128/fc.
	ETU = 9440 * time.Nanosecond
	// FieldGuard is the unmodulated field a PCD leaves after switching the
	// field on before its first frame; a card may take that long to wake.
	FieldGuard = 5 * time.Millisecond
	// FDTShort is the frame delay time of an answer to REQA, WUPA,
	// ANTICOLLISION and SELECT (1236/fc when the last bit was 1; ~91 µs).
	FDTShort = 91 * time.Microsecond
	// MinRequestGap is the minimum time between the starts of two REQAs.
	MinRequestGap = 516 * time.Microsecond
)

// FrameAirTime is the time a frame of nbits data bits takes on air:
// start of communication, one parity bit per whole byte and end of
// communication, each bit one etu.
func FrameAirTime(nbits int) time.Duration {
	bits := 1 + nbits + nbits/8 + 1
	return time.Duration(bits) * ETU
}
