"""The engine: pure logic over the Storage interface (encoding, retrieval, lifecycle)."""
