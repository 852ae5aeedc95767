/* placeholder - fuzz_mime belongs to the MIME engineer; returns 0 until
 * the real target lands (created by the rules engineer so -Dfuzz=true
 * builds). */
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - placeholder: does nothing */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	(void) data;
	(void) size;
	return 0;
}
