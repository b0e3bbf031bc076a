//! Host: JSON rendering, the HTTP/OpenEnv server and the evaluation runner.
