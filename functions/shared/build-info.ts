// What build is running, for health checks and the admin status page.
export const NURTURE_VERSION = '0.1.0';
