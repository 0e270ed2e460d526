package dev.magvit4j.cli;

/** A user error: printed as one line, exit status 2. */
final class CliException extends RuntimeException {
    CliException(String message) {
        super(message);
    }
}
