package io.meritstream.kafka;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * The key pair, certificate and truststore of an embedded broker's SASL_SSL listener, made with the JDK's own keytool
 * (no certificate library is needed for a self-signed test certificate): a PKCS12 keystore with an RSA key and a
 * certificate for CN=localhost with SAN IP:127.0.0.1 and DNS:localhost, so clients verify the host name as in
 * production, and a truststore with that certificate.
 */
final class TlsFiles {
    private static final String USER = "merit";

    private TlsFiles() {}

    static EmbeddedKafkaBroker.SaslSsl create(Path dir, int port) {
        String password = UUID.randomUUID().toString();
        try {
            Files.createDirectories(dir);
            Path keystore = dir.resolve("broker.p12");
            Path certificate = dir.resolve("broker.cer");
            Path truststore = dir.resolve("truststore.p12");
            keytool(
                    "-genkeypair",
                    "-alias",
                    "broker",
                    "-keyalg",
                    "RSA",
                    "-keysize",
                    "2048",
                    "-validity",
                    "2",
                    "-dname",
                    "CN=localhost",
                    "-ext",
                    "SAN=IP:127.0.0.1,DNS:localhost",
                    "-keystore",
                    keystore.toString(),
                    "-storetype",
                    "PKCS12",
                    "-storepass",
                    password,
                    "-keypass",
                    password);
            keytool(
                    "-exportcert",
                    "-alias",
                    "broker",
                    "-keystore",
                    keystore.toString(),
                    "-storetype",
                    "PKCS12",
                    "-storepass",
                    password,
                    "-file",
                    certificate.toString());
            keytool(
                    "-importcert",
                    "-noprompt",
                    "-alias",
                    "broker",
                    "-file",
                    certificate.toString(),
                    "-keystore",
                    truststore.toString(),
                    "-storetype",
                    "PKCS12",
                    "-storepass",
                    password);
            return new EmbeddedKafkaBroker.SaslSsl(
                    port, truststore, password, USER, UUID.randomUUID().toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot make the TLS files in " + dir, e);
        }
    }

    /** The keystore next to {@code secure}'s truststore. */
    static Path keystore(EmbeddedKafkaBroker.SaslSsl secure) {
        return secure.truststore().resolveSibling("broker.p12");
    }

    private static void keytool(String... args) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
                throw new IOException("keytool " + args[0] + " failed: " + output);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running keytool", e);
        }
    }
}
