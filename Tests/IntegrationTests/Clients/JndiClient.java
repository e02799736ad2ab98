// One lookup through Java's JNDI DNS provider (com.sun.jndi.dns), for ClientLibraryTests.
//
// usage: java JndiClient.java PORT TYPE NAME      (single-file source launch; TYPE is A or SRV)
//
// Asks dns://127.0.0.1:PORT only, over UDP; the provider retries over TCP by itself when the answer comes
// back truncated. Prints one record a line, sorted, as the provider gives them: an address for A,
// "PRIORITY WEIGHT PORT TARGET" for SRV. Any failure goes to stderr with exit status 1.

import java.util.ArrayList;
import java.util.Collections;
import java.util.Hashtable;
import java.util.List;
import javax.naming.Context;
import javax.naming.NamingEnumeration;
import javax.naming.NamingException;
import javax.naming.directory.Attribute;
import javax.naming.directory.DirContext;
import javax.naming.directory.InitialDirContext;

public class JndiClient {
    public static void main(String[] args) {
        String port = args[0];
        String type = args[1];
        String name = args[2];
        Hashtable<String, String> env = new Hashtable<>();
        env.put(Context.INITIAL_CONTEXT_FACTORY, "com.sun.jndi.dns.DnsContextFactory");
        env.put(Context.PROVIDER_URL, "dns://127.0.0.1:" + port);
        env.put("com.sun.jndi.dns.timeout.initial", "2000");
        env.put("com.sun.jndi.dns.timeout.retries", "2");
        try {
            DirContext context = new InitialDirContext(env);
            try {
                Attribute attribute = context.getAttributes(name, new String[] {type}).get(type);
                List<String> lines = new ArrayList<>();
                if (attribute != null) {
                    NamingEnumeration<?> values = attribute.getAll();
                    while (values.hasMore()) {
                        lines.add(values.next().toString());
                    }
                }
                if (lines.isEmpty()) {
                    System.err.println("error: no " + type + " records for " + name);
                    System.exit(1);
                }
                Collections.sort(lines);
                System.out.println(String.join("\n", lines));
            } finally {
                context.close();
            }
        } catch (NamingException error) {
            System.err.println("error: " + error.getClass().getSimpleName() + ": " + error.getMessage());
            System.exit(1);
        }
    }
}
