// Package iso14443 holds the parts of ISO/IEC 14443-3 type A that both the
// MFRC522 driver and the card emulator need: command bytes, CRC_A, the block
// check character, cascade-level framing, air-time arithmetic and the
// canonical form of a card UID.
//
// Canonical UID form, used everywhere in the product: upper-case hex, no
// separators, every byte kept (leading zeros too): "04A1B2C3D4E5F6".
package iso14443
