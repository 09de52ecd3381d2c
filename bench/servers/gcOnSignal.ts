// Preloaded into the BFF for S6 only (`node --expose-gc --import …`): a full garbage collection on
// SIGUSR2, so that memory is compared between two collected heaps rather than two random moments.
process.on('SIGUSR2', () => (globalThis as { gc?: () => void }).gc?.());
