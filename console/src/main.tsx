import { render } from "preact";

import { App } from "./app";
import { makeServices } from "./services";
import "./styles.css";

const root = document.getElementById("app");
if (root) render(<App services={makeServices()} />, root);
