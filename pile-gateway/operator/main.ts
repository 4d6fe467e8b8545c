/** Entry of the gateway's operator page: registers <operator-app>. */
import './operator-app.js';
